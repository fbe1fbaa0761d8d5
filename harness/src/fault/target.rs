//! Resolving a scenario target to member names at the moment a fault runs.
use crate::observe::LiveView;
use crate::scenario::Target;

/// What earlier faults resolved, for targets that refer back (`old_primary`).
#[derive(Debug, Clone, Default)]
pub struct TargetMemory {
    /// The member hit by the most recent fault aimed at `primary`.
    pub old_primary: Option<String>,
}

/// Resolves `target` against the latest observations. Errors say what was seen instead.
pub fn resolve_target(target: &Target, live: &LiveView, memory: &TargetMemory) -> Result<Vec<String>, String> {
    match target {
        Target::Primary => match live.running_primaries().as_slice() {
            [one] => Ok(vec![one.clone()]),
            [] => Err(format!("no running primary to target; last seen: {}", live.describe())),
            many => Err(format!("more than one running primary ({}); refusing to guess", many.join(", "))),
        },
        Target::Replica => live
            .snapshot()
            .into_iter()
            .find(|(_, (view, _))| view.is_healthy_replica())
            .map(|(member, _)| vec![member])
            .ok_or_else(|| format!("no healthy replica to target; last seen: {}", live.describe())),
        Target::OldPrimary => memory
            .old_primary
            .clone()
            .map(|m| vec![m])
            .ok_or_else(|| "no earlier fault hit the primary, so `old_primary` means nothing yet".to_string()),
        Target::Member(name) => Ok(vec![name.clone()]),
    }
}
