//! What must happen: expectations with their budgets (measured from the most recent fault step)
//! and whole-run invariants, as a scenario writes them. Checks judge them (`crate::check`).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::target::Target;
use super::values::Budget;

/// States an `alert` expectation can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertExpect {
    /// Prometheus has the alert pending (or already firing).
    Pending,
    /// The alert fires.
    Firing,
    /// A firing alert ends.
    Resolved,
    /// The alert never fires during the whole window.
    Never,
}

/// Which API an `alert` expectation reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertSourceName {
    /// Prometheus's rule evaluation.
    #[default]
    Prometheus,
    /// Alertmanager (the alert reached the notification pipeline).
    Alertmanager,
}

/// Expectations, each with its own budget measured from the most recent fault step. Unknown
/// keys inside one are errors: a misspelt key would otherwise run with a default or drop a check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// A member other than the primary at the time of the fault becomes a running primary.
    NewLeader {
        /// Budget.
        within: Budget,
    },
    /// The primary's PostgreSQL timeline grows by `increments`.
    Timeline {
        /// How many timeline switches.
        #[serde(default = "default_increments")]
        increments: u32,
        /// Budget.
        within: Budget,
    },
    /// The target runs again as a replica (running or streaming) on the new timeline.
    Rejoins {
        /// Who must rejoin.
        target: Target,
        /// Budget.
        within: Budget,
    },
    /// For this long after the fault, the primary at the time of the fault stays the only
    /// primary: no promotion, no demotion (e.g. a paused etcd with failsafe_mode on).
    NoFailover {
        /// How long nothing may change.
        within: Budget,
    },
    /// The primary at the time of the fault stops being a running primary while still answering
    /// (Patroni demoted it), within the budget.
    PrimaryDemoted {
        /// Budget.
        within: Budget,
    },
    /// A write sent after the fault is acknowledged within the budget.
    WritableAgain {
        /// Budget.
        within: Budget,
    },
    /// From the fault to the end of the run, the longest time without an acknowledged write.
    MaxWriteUnavailability {
        /// The most it may be.
        max: Budget,
    },
    /// Every member is answering again and every non-primary is a streaming replica.
    ReplicationStreaming {
        /// Budget.
        within: Budget,
    },
    /// A Prometheus alert (defined in the monitoring rule files) reaches a state.
    Alert {
        /// The alert's name.
        name: String,
        /// The state to reach (`never`: must not fire during the window).
        state: AlertExpect,
        /// Budget (the window for `never`).
        within: Budget,
        /// Label matchers the alert instance must carry.
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
        /// Which API to read.
        #[serde(default)]
        source: AlertSourceName,
    },
    /// Citus: pg_dist_node on the coordinator's running primary names every group's running
    /// primary (or only `group`'s), and the group the fault hit has a primary other than the one
    /// at the time of the fault.
    PgDistNode {
        /// Only this group (default: every group).
        #[serde(default)]
        group: Option<u32>,
        /// Require the faulted group to have a primary other than the one at the fault (the
        /// default); `false` only checks that pg_dist_node agrees with the leaders (e.g. after a
        /// heal, when nothing had to change).
        #[serde(default = "default_true")]
        new_primary: bool,
        /// Budget.
        within: Budget,
    },
    /// Citus: no worker group's running primary holds a prepared transaction older than a second
    /// (a two-phase commit left half-done) within the budget: Citus's transaction recovery
    /// (`citus.recover_2pc_interval`) has committed or rolled back what the fault left behind.
    NoOrphanedPreparedTransactions {
        /// Budget.
        within: Budget,
    },
    /// Citus: writes routed to worker group `group` pause at most `max` (longest stretch without
    /// an acknowledged write to that group, from the fault to the end of the run), fail at most
    /// `errors` times (absent: counted, not limited — e.g. after a kill writes fail until
    /// pg_dist_node is fixed), and resume within `resumes_within`; optionally, the other groups'
    /// longest stretch during that pause stays under `others_max` (they keep writing).
    WritePause {
        /// The worker group.
        group: u32,
        /// The longest pause allowed.
        max: Budget,
        /// Failed writes to the group allowed (absent: not limited, only reported).
        #[serde(default)]
        errors: Option<u32>,
        /// The pause must end this long after the fault at the latest.
        #[serde(default)]
        resumes_within: Option<Budget>,
        /// The other groups' longest stretch without an acknowledged write during the pause.
        #[serde(default)]
        others_max: Option<Budget>,
    },
    /// No write sent after the fault took effect is acknowledged for the whole window (the
    /// durability of synchronous_mode_strict: commits wait for a standby that is gone).
    NoWriteAcked {
        /// How long nothing may be acknowledged.
        within: Budget,
    },
    /// The target (a named member, e.g. one tagged `nofailover`) is never a running primary from
    /// this step's fault to the end of the run. Judged at the end; nothing to wait for.
    NeverLeader {
        /// Who must never lead.
        target: Target,
    },
    /// The target (a named member, e.g. a switchover candidate) is a running primary.
    LeaderIs {
        /// Who must lead.
        target: Target,
        /// Budget.
        within: Budget,
    },
    /// Through `topology.pooler`: the clients are served again (an acknowledged write followed by
    /// a second without a failed one) within `within` of the fault and, optionally, within
    /// `after_primary` of Patroni's new primary. The verdict reports the pooler's error window,
    /// the errors by kind and the longest time without an acknowledged write beside Patroni's
    /// failover time.
    PoolerRecovers {
        /// Budget from the fault.
        within: Budget,
        /// Budget from Patroni's new running primary (the pooler's own share).
        #[serde(default)]
        after_primary: Option<Budget>,
    },
}

impl Expectation {
    /// The expectation's name when it judges the workload's writes (and so needs a workload).
    pub fn needs_writes(&self) -> Option<&'static str> {
        match self {
            Expectation::WritableAgain { .. } => Some("writable_again"),
            Expectation::MaxWriteUnavailability { .. } => Some("max_write_unavailability"),
            Expectation::WritePause { .. } => Some("write_pause"),
            Expectation::NoWriteAcked { .. } => Some("no_write_acked"),
            Expectation::PoolerRecovers { .. } => Some("pooler_recovers"),
            // Spelled out, so a new expectation has to say whether it reads the writes.
            Expectation::NewLeader { .. }
            | Expectation::Timeline { .. }
            | Expectation::Rejoins { .. }
            | Expectation::NoFailover { .. }
            | Expectation::PrimaryDemoted { .. }
            | Expectation::ReplicationStreaming { .. }
            | Expectation::Alert { .. }
            | Expectation::PgDistNode { .. }
            | Expectation::NoOrphanedPreparedTransactions { .. }
            | Expectation::NeverLeader { .. }
            | Expectation::LeaderIs { .. } => None,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_increments() -> u32 {
    1
}

/// Whole-run properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// Never two members observed as primary at overlapping times.
    SinglePrimary,
    /// Every acknowledged write is present at the end of the run.
    NoAckedWriteLost,
    /// Citus, `transactions: multi_shard`: every transaction of the workload is at the end of the
    /// run wholly present or wholly absent, never some of its rows.
    NoPartialTransactions,
}
