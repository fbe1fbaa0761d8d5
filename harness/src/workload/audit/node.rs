//! Reading one member on its own port: who it is, how far its WAL is, which rows it holds. Every
//! statement runs under [`QUERY_TIMEOUT`] (a paused or partitioned node must not stall the audit).
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::super::error::WorkloadError;
use super::super::pg::statement_failed;
use super::super::table::WorkloadTable;
use crate::wait::within;

/// Bound on one statement of the audit.
pub(super) const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the leader says about itself once the writers have stopped.
#[derive(Debug, Clone)]
pub(super) struct LeaderState {
    /// `pg_control_system().system_identifier`.
    pub system_identifier: String,
    /// The timeline of its current WAL file.
    pub timeline: u64,
    /// `pg_current_wal_lsn()`: every replica must replay up to here.
    pub lsn: String,
}

/// How far a replica has replayed, compared with the leader's LSN.
#[derive(Debug, Clone)]
pub(super) struct ReplayState {
    /// `pg_control_system().system_identifier`.
    pub system_identifier: String,
    /// Whether it is in recovery at all (a member that is not is a second primary).
    pub in_recovery: bool,
    /// `pg_last_wal_replay_lsn()`.
    pub lsn: Option<String>,
    /// Replayed up to the leader's LSN.
    pub caught_up: bool,
    /// Replay is paused (`pg_wal_replay_pause()`): waiting for it is pointless.
    pub paused: bool,
}

impl ReplayState {
    /// Nothing more is to be gained by waiting for this replica.
    pub fn settled(&self) -> bool {
        self.caught_up || self.paused || !self.in_recovery
    }
}

/// One statement, bounded.
async fn query(
    client: &Client,
    action: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, WorkloadError> {
    within(action, QUERY_TIMEOUT, client.query(sql, params)).await?.map_err(|e| statement_failed(action, e))
}

/// The first row of a statement that always returns one.
async fn query_one(
    client: &Client,
    action: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, WorkloadError> {
    let mut rows = query(client, action, sql, params).await?;
    if rows.is_empty() {
        return Err(WorkloadError::NoRow(action));
    }
    Ok(rows.swap_remove(0))
}

/// The leader's identity, timeline and current LSN; [`WorkloadError::NotPrimary`] while it is
/// still in recovery (just promoted).
pub(super) async fn leader_state(client: &Client) -> Result<LeaderState, WorkloadError> {
    let identity = "SELECT (SELECT system_identifier::text FROM pg_control_system()), pg_is_in_recovery()";
    let row = query_one(client, "read the leader's identity", identity, &[]).await?;
    if row.get::<_, bool>(1) {
        return Err(WorkloadError::NotPrimary);
    }
    // The WAL file name starts with the timeline in hex.
    let wal = "SELECT pg_current_wal_lsn()::text, \
               ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";
    let position = query_one(client, "read the leader's WAL position", wal, &[]).await?;
    let timeline: i32 = position.get(1);
    Ok(LeaderState {
        system_identifier: row.get(0),
        timeline: u64::try_from(timeline).unwrap_or_default(),
        lsn: position.get(0),
    })
}

/// A replica's identity and replay position against `leader_lsn`.
pub(super) async fn replay_state(client: &Client, leader_lsn: &str) -> Result<ReplayState, WorkloadError> {
    let sql = "SELECT (SELECT system_identifier::text FROM pg_control_system()), pg_is_in_recovery(), \
               pg_last_wal_replay_lsn()::text, \
               COALESCE(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false), \
               CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() <> 'not paused' END";
    let row = query_one(client, "read the replica's replay position", sql, &[&leader_lsn]).await?;
    Ok(ReplayState {
        system_identifier: row.get(0),
        in_recovery: row.get(1),
        lsn: row.get(2),
        caught_up: row.get(3),
        paused: row.get::<_, Option<bool>>(4).unwrap_or(false),
    })
}

/// Every row id of the workload table, sorted, repeats kept (the Citus key is `(bucket, id)`).
/// A member without the table (`42P01`: promoted before it received the table's creation) holds
/// none of them: that is a finding for the audit's verdict, not a reason to wait.
pub(super) async fn read_ids(client: &Client, table: &WorkloadTable) -> Result<Vec<u64>, WorkloadError> {
    let sql = format!("SELECT id FROM {table} ORDER BY id");
    let rows = match query(client, "read the workload rows", &sql, &[]).await {
        Ok(rows) => rows,
        Err(WorkloadError::Statement { source, .. }) if source.code() == Some(&SqlState::UNDEFINED_TABLE) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    Ok(rows.iter().map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or_default()).collect())
}
