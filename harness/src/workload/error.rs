//! Why the workload could not prepare its table, find where its rows go, or audit them.
use thiserror::Error;

use crate::wait::WaitTimeout;

/// A workload set-up or audit step failed.
#[derive(Debug, Error)]
pub enum WorkloadError {
    /// No connection to the endpoint.
    #[error("failed to connect to {host}:{port}: {reason}")]
    Connect {
        /// Host connected to.
        host: String,
        /// Port connected to.
        port: u16,
        /// What the connection attempt said (`connect timed out after 2000ms`, a server error).
        reason: String,
    },
    /// A statement failed.
    #[error("failed to {action}: {reason}")]
    Statement {
        /// What the statement was for (`create the workload table`).
        action: &'static str,
        /// The error's first line (`42P01: relation "x" does not exist`).
        reason: String,
        /// The PostgreSQL error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The endpoint led to a replica: its rows may lag, so they cannot be audited.
    #[error("connected to a replica, not the primary")]
    NotPrimary,
    /// A statement that always returns a row returned none.
    #[error("failed to {0}: no row returned")]
    NoRow(&'static str),
    /// The DCS named a leader that is not one of the members audited.
    #[error("the DCS names {0} as leader, which is not a member of this cluster")]
    UnknownLeader(String),
    /// Citus placed a shard on a group id that is not a worker group.
    #[error("pg_dist_placement names group id {0}, which is not a group")]
    BadGroup(i32),
    /// A bounded step ran out of time.
    #[error(transparent)]
    Wait(#[from] WaitTimeout),
}
