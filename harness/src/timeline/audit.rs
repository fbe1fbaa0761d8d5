//! What the end-of-run write audit recorded about each member it read: enough for the
//! `write_audit` check to judge divergence, identity and timeline from the timeline alone.
use serde::{Deserialize, Serialize};

/// Which part a member played in the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditRole {
    /// The leader the DCS named: its rows are the run's result.
    Leader,
    /// Another member, read after it replayed (or failed to replay) up to the leader's LSN.
    Replica,
}

/// How the audit came to read a member and what the member said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRead {
    /// Leader or replica.
    pub role: AuditRole,
    /// Why this member, for the verdict, e.g. `leader named by the DCS (GET /cluster on pg-1);
    /// cluster converged after 0.1s`.
    pub why: String,
    /// `pg_control_system().system_identifier`, when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_identifier: Option<String>,
    /// The leader's timeline (of its current WAL file); `None` on replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<u64>,
    /// The leader: `pg_current_wal_lsn()` after the writers stopped; a replica:
    /// `pg_last_wal_replay_lsn()` when its rows were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsn: Option<String>,
    /// A replica: whether it had replayed up to the leader's LSN when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caught_up: Option<bool>,
    /// The leader: every member of its Patroni cluster (a Citus group has its own system
    /// identifier, so only these are compared with the leader's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<String>,
    /// Ids present more than once (possible on Citus, whose key is `(bucket, id)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<u64>,
}
