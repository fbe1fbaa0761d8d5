//! Why a fault failed: the action itself, or its effect never showing.
use thiserror::Error;

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

impl FaultError {
    /// The action of `fault` on `target` failed.
    pub fn failed(fault: &str, target: &str, reason: impl std::fmt::Display) -> Self {
        Self::Failed { fault: fault.to_string(), target: target.to_string(), reason: reason.to_string() }
    }

    /// `fault` on `target` showed no effect; `seen` says what was seen instead.
    pub fn no_effect(fault: &str, target: &str, seen: impl std::fmt::Display) -> Self {
        Self::NoEffect { fault: fault.to_string(), target: target.to_string(), seen: seen.to_string() }
    }
}
