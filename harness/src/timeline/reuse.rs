//! What the timeline says of a cluster handed from one drill to the next (`pgdrill drill`).
use serde::{Deserialize, Serialize};

/// The cluster a drill ran on when an earlier drill left it: the run that started it (whose id
/// labels its containers) and the drill just before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOrigin {
    /// The run that started the cluster (its containers and network carry this run id).
    pub started_by_run: String,
    /// That run's scenario.
    pub started_by_scenario: String,
    /// The drill that ran on it last and left it parked.
    pub previous_run: String,
    /// That drill's scenario.
    pub previous_scenario: String,
    /// How many drills ran on it before this one.
    pub drills_before: u32,
}

/// One part of the baseline a parked cluster must pass before a drill runs on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineCheck {
    /// What was checked, e.g. `every replica streaming with no lag`.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// What was found.
    pub found: String,
}
