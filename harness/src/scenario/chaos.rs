//! The `chaos:` section of a scenario file: which faults a randomised schedule may contain, how
//! many, how far apart and for how long, and what must hold throughout. `pgdrill chaos` turns
//! each generated schedule into plain steps (see `crate::chaos`); this file only describes what
//! the user wrote. Its semantic checks live in `validate/chaos.rs`.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{FaultKind, Target};
use super::values::Budget;

/// Randomised fault schedules (`pgdrill chaos FILE`). `pgdrill run` refuses a file with this
/// section: its steps alone are not the drill.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// The faults a schedule may contain, each with the targets it may hit. Shrinking prefers
    /// entries (and targets) listed earlier, so list the mildest first.
    pub faults: Vec<ChaosFault>,
    /// How many faults a schedule has.
    #[serde(default)]
    pub count: CountRange,
    /// Time from the start of one fault to the start of the next (and from the end of the fixed
    /// steps to the first fault). Whole seconds.
    pub spacing: DurationRange,
    /// How long each fault stays in effect before pgdrill undoes it (faults that are not undone,
    /// e.g. `restart`, ignore it). Whole seconds.
    pub duration: DurationRange,
    /// What must hold for every schedule.
    pub invariants: Vec<ChaosInvariant>,
}

/// One kind of fault a schedule may pick, and where it may aim.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosFault {
    /// The fault.
    pub fault: FaultKind,
    /// Targets it may hit (resolved when the fault runs, like a step's `target`).
    pub targets: Vec<Target>,
    /// `loss`: share of packets dropped, between 0 and 1 (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// A range of counts, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    /// At least this many.
    pub min: u8,
    /// At most this many.
    pub max: u8,
}

impl Default for CountRange {
    fn default() -> Self {
        Self { min: 1, max: 3 }
    }
}

/// A range of durations, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationRange {
    /// Shortest.
    pub min: Budget,
    /// Longest.
    pub max: Budget,
}

/// What must hold for every schedule. Unknown keys inside one are errors, as in expectations.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ChaosInvariant {
    /// Never two members observed as primary at overlapping times.
    SinglePrimary,
    /// Every acknowledged write is present at the end of the run.
    NoAckedWriteLost,
    /// After the last fault is undone, a write sent is acknowledged within the budget.
    WritableAgain {
        /// Budget, counted from the last heal.
        within: Budget,
    },
    /// From the first fault to the end of the run, writes never stop for longer than `max`
    /// (the longest time without an acknowledged write).
    MaxWriteUnavailability {
        /// The longest allowed stretch without an acknowledged write.
        max: Budget,
    },
    /// After the last fault is undone, every member streams again within the budget.
    ReplicationStreaming {
        /// Budget, counted from the last heal.
        within: Budget,
    },
    /// Citus: every group's row in `pg_dist_node` points at that group's primary within the
    /// budget after the last heal (`kind: citus` only).
    PgDistNodeConsistent {
        /// Budget, counted from the last heal.
        within: Budget,
    },
}

/// Faults a schedule may use: each is undone by pgdrill (after `duration`) or is over at once.
/// The undo actions themselves (`start`, `unpause`, …) are the schedule's business, and
/// `failover` needs a candidate no generator can know in advance.
pub const CHAOS_FAULTS: &[FaultKind] = &[
    FaultKind::Kill,
    FaultKind::Stop,
    FaultKind::Restart,
    FaultKind::KillPostgres,
    FaultKind::KillPatroni,
    FaultKind::Pause,
    FaultKind::Partition,
    FaultKind::Isolate,
    FaultKind::Loss,
    FaultKind::Disconnect,
    FaultKind::Switchover,
    FaultKind::MaintenanceOn,
];

/// The most faults one schedule may hold: every fault is a step, and every case starts a
/// cluster, so long schedules make each case (and shrinking) slow.
pub const MAX_CHAOS_FAULTS: u8 = 12;
