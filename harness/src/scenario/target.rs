//! Who a fault (or an expectation) aims at, as a scenario writes it; resolved against the
//! observed cluster when the step runs.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who a fault hits, resolved from the latest observed cluster state when the step runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The current primary (leader).
    Primary,
    /// One current replica (the first healthy one by name).
    Replica,
    /// Every current replica.
    Replicas,
    /// The replica Patroni names as the synchronous standby.
    SyncStandby,
    /// The member that the most recent fault aimed at `primary` hit.
    OldPrimary,
    /// Every Patroni member.
    Members,
    /// The current etcd leader (asked from etcd itself).
    EtcdLeader,
    /// Every etcd member.
    Etcd,
    /// A container by name (pg-1 .. pg-N, etcd-1 .. etcd-N, haproxy).
    Member(String),
    /// Expectations only: the member Patroni prefers among the others when the fault ran — the
    /// highest `failover_priority` tag (Patroni's default is 1; members never promoted are left
    /// out), e.g. `leader_is: {target: highest_priority}` after a switchover without candidate.
    HighestPriority,
    /// Citus: every member of a group (0 = the coordinator), e.g. `peers: {group: 0}` to cut a
    /// worker group off from the coordinator.
    Group(u32),
}
