//! Container-level faults (kill, start) and their verification through Docker's own state.
use std::time::Duration;

use thiserror::Error;

use crate::runtime::{Runtime, RuntimeError};
use crate::scenario::FaultKind;
use crate::timeline::{EventKind, TimelineWriter};

/// How long a fault's effect may take to show before the fault counts as having done nothing.
const VERIFY_WITHIN: Duration = Duration::from_secs(10);

/// A fault that failed to apply or to take effect.
#[derive(Debug, Error)]
pub enum FaultError {
    /// Docker refused the action.
    #[error("failed to apply fault {fault} to {target}")]
    Apply {
        /// Fault name.
        fault: String,
        /// Member.
        target: String,
        /// Cause.
        #[source]
        source: RuntimeError,
    },
    /// The action returned but its effect never showed.
    #[error("fault had no effect: {fault} on {target}: {seen}")]
    NoEffect {
        /// Fault name.
        fault: String,
        /// Member.
        target: String,
        /// What was seen instead.
        seen: String,
    },
}

/// Applies `fault` to each target container, records it, then verifies and records the proof.
pub async fn apply_fault(
    runtime: &Runtime,
    step: usize,
    fault: FaultKind,
    targets: &[String],
    timeline: &TimelineWriter,
) -> Result<(), FaultError> {
    let name = fault_name(fault);
    for target in targets {
        let result = match fault {
            FaultKind::Kill => runtime.kill(target, "SIGKILL").await,
            FaultKind::Start => runtime.start_existing(target).await,
        };
        result.map_err(|source| FaultError::Apply { fault: name.into(), target: target.clone(), source })?;
    }
    timeline.record(EventKind::FaultApplied { step, fault: name.into(), targets: targets.to_vec() });
    for target in targets {
        let proof = verify(runtime, fault, target).await;
        let ok = proof.is_ok();
        let text = proof.clone().unwrap_or_else(|e| e);
        timeline.record(EventKind::FaultVerified { step, ok, proof: format!("{target}: {text}") });
        if let Err(seen) = proof {
            return Err(FaultError::NoEffect { fault: name.into(), target: target.clone(), seen });
        }
    }
    Ok(())
}

/// The scenario spelling of a fault.
pub fn fault_name(fault: FaultKind) -> &'static str {
    match fault {
        FaultKind::Kill => "kill",
        FaultKind::Start => "start",
    }
}

/// Polls Docker until the container shows the fault's effect.
async fn verify(runtime: &Runtime, fault: FaultKind, target: &str) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let mut last = String::from("not inspected");
    while start.elapsed() < VERIFY_WITHIN {
        match runtime.state(target).await {
            Ok((status, running, exit_code)) => {
                let effect = match fault {
                    FaultKind::Kill => !running,
                    FaultKind::Start => running,
                };
                last = format!("container {status} (exit code {exit_code})");
                if effect {
                    return Ok(last);
                }
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("after {}s: {last}", VERIFY_WITHIN.as_secs()))
}
