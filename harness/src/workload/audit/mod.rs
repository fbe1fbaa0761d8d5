//! The end-of-run write audit. It trusts nothing it can check: it waits (bounded) until the
//! cluster has converged, reads the leader the DCS names on its own port (with its system
//! identifier, timeline and WAL position), then every other member once it has replayed up to
//! that position, and records what each holds. Judging is `check::write_audit`'s and
//! `check::no_acked_write_lost`'s job.
mod converge;
mod dcs;
mod ids;
mod node;
mod read;

use std::time::{Duration, Instant};

use super::error::WorkloadError;
use crate::pg::PgEndpoint;
use crate::timeline::{EventKind, TimelineWriter};
pub use dcs::{read_cluster, DcsMember, DcsView};
pub use ids::compress_ids;

/// A member the audit may read.
#[derive(Debug, Clone)]
pub struct AuditMember {
    /// Member name.
    pub name: String,
    /// Its own PostgreSQL endpoint (never through HAProxy: a misroute must show).
    pub pg: PgEndpoint,
    /// Its Patroni REST API's base URL (for `GET /cluster`).
    pub rest_url: String,
}

/// What to audit.
#[derive(Debug, Clone)]
pub struct AuditPlan {
    /// The members of the one Patroni cluster whose table is read (Citus: the coordinator's).
    pub members: Vec<AuditMember>,
    /// Read and compare the replicas too (not on Citus: the coordinator's replicas hold no rows).
    pub compare_replicas: bool,
    /// Bound on the whole audit's waiting (convergence and replay).
    pub within: Duration,
    /// The table the workload wrote (the only one read).
    pub table: super::WorkloadTable,
    /// Members a fault left down (a kill the run does not undo): neither waited for nor read.
    pub left_down: Vec<String>,
    /// Patroni's name → the run's, for members an attached cluster's file drills under another
    /// name (`as`): `GET /cluster` names members as Patroni does.
    pub patroni_names: std::collections::BTreeMap<String, String>,
}

/// How long a streaming replica may take to replay up to the leader's LSN once the writers have
/// stopped: at the workload's rates that is well under a second; one that needs longer is read
/// as it is and reported (without holding every drill with such a replica for the whole bound).
const REPLAY_WITHIN: Duration = Duration::from_secs(10);

/// What the audit read, for the progress line.
#[derive(Debug, Clone)]
pub struct AuditSummary {
    /// The leader read.
    pub leader: String,
    /// Rows on it.
    pub rows: usize,
    /// Replicas read and recorded.
    pub replicas: usize,
    /// Members that could not be read.
    pub skipped: usize,
}

/// Audits the written table and records a `WriteAudit` event per member read (an `AuditSkipped`
/// per member that could not be). Fails only when no leader could be read.
pub async fn audit_writes(plan: &AuditPlan, timeline: &TimelineWriter) -> Result<AuditSummary, String> {
    try_audit_writes(plan, timeline).await.map_err(|e| e.to_string())
}

/// [`audit_writes`], typed.
async fn try_audit_writes(plan: &AuditPlan, timeline: &TimelineWriter) -> Result<AuditSummary, WorkloadError> {
    let deadline = Instant::now() + plan.within;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .no_proxy()
        .build()
        .expect("a plain HTTP client always builds");
    let converged = converge::converge(plan, &http).await?;
    let member = plan
        .members
        .iter()
        .find(|m| m.name == converged.leader)
        .ok_or_else(|| WorkloadError::UnknownLeader(converged.leader.clone()))?;
    let cluster = plan.members.iter().map(|m| m.name.clone()).collect();
    let leader = read::read_leader(member, &plan.table, cluster, converged.why, deadline).await?;
    timeline.record(leader.event);
    let mut summary = AuditSummary { leader: member.name.clone(), rows: leader.rows, replicas: 0, skipped: 0 };
    let replicas = plan.members.iter().filter(|m| plan.compare_replicas && m.name != member.name);
    let replay_deadline = deadline.min(Instant::now() + REPLAY_WITHIN);
    for replica in replicas {
        if plan.left_down.contains(&replica.name) {
            let reason = "left down by a fault of the run (not started again before teardown)".to_string();
            timeline.record(EventKind::AuditSkipped { member: replica.name.clone(), reason });
            summary.skipped += 1;
            continue;
        }
        match read::read_replica(replica, &plan.table, &leader.state.lsn, replay_deadline).await {
            Ok(event) => {
                timeline.record(event);
                summary.replicas += 1;
            }
            Err(e) => {
                timeline.record(EventKind::AuditSkipped { member: replica.name.clone(), reason: e.to_string() });
                summary.skipped += 1;
            }
        }
    }
    Ok(summary)
}
