//! The workload's table: created (on Citus, distributed over every worker group) before the
//! writers start, and where its buckets landed; connections with typed errors.
use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Client;

use super::error::WorkloadError;
use crate::pg::{short, PgEndpoint};
use crate::wait::{poll_until, within, Probe};

/// The table the workload writes.
pub const WORKLOAD_TABLE: &str = "pgdrill_writes";

/// Buckets (values of the Citus distribution column) the workload spreads its rows over: enough
/// that every shard, and so every worker group, gets some.
pub const BUCKETS: i32 = 64;

/// Creates the workload table (idempotent) through `endpoint`, retrying until `deadline`.
/// `distributed`: make it a Citus table distributed by `bucket` (see [`BUCKETS`]), so rows spread
/// over every worker group and a writer can aim at one group.
pub async fn prepare_table(endpoint: &PgEndpoint, distributed: bool, deadline: Duration) -> Result<(), String> {
    try_prepare_table(endpoint, distributed, deadline).await.map_err(|e| e.to_string())
}

/// Drops the workload table (an attached cluster outlives the run: each run starts with an empty
/// table and leaves none behind).
pub async fn drop_table(endpoint: &PgEndpoint, timeout: Duration) -> Result<(), String> {
    let client = connect(endpoint, timeout).await.map_err(|e| e.to_string())?;
    let sql = format!("DROP TABLE IF EXISTS {WORKLOAD_TABLE}");
    within("dropping the workload table", timeout, client.batch_execute(&sql))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| statement_failed("drop the workload table", e).to_string())
}

/// [`prepare_table`], typed.
async fn try_prepare_table(endpoint: &PgEndpoint, distributed: bool, deadline: Duration) -> Result<(), WorkloadError> {
    let what = format!("the workload table {WORKLOAD_TABLE} to be created");
    let probe = || async {
        let client = match connect(endpoint, Duration::from_secs(2)).await {
            Ok(client) => client,
            Err(e) => return Probe::not_yet(e),
        };
        let created = if distributed { create_distributed(&client).await } else { create_plain(&client).await };
        match created {
            Ok(()) => Probe::Done(()),
            Err(source) => Probe::not_yet(statement_failed("create the workload table", source)),
        }
    };
    Ok(poll_until(&what, deadline, Duration::from_millis(250), probe).await?)
}

/// A failed statement, with the error's first line.
pub(super) fn statement_failed(action: &'static str, source: tokio_postgres::Error) -> WorkloadError {
    WorkloadError::Statement { action, reason: short(&source), source }
}

/// [`PgEndpoint::connect`] with a typed error.
pub(super) async fn connect(endpoint: &PgEndpoint, timeout: Duration) -> Result<Client, WorkloadError> {
    endpoint.connect(timeout).await.map_err(|reason| WorkloadError::Connect {
        host: endpoint.host.clone(),
        port: endpoint.port,
        reason,
    })
}

async fn create_plain(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {WORKLOAD_TABLE} (id bigint PRIMARY KEY, writer int NOT NULL, \
             written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
}

/// The Citus table: the distribution column must be part of the primary key.
async fn create_distributed(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {WORKLOAD_TABLE} (id bigint NOT NULL, bucket int NOT NULL, \
             writer int NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), \
             PRIMARY KEY (bucket, id))"
        ))
        .await?;
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = '{WORKLOAD_TABLE}'::regclass)"
    );
    let done: bool = client.query_one(&sql, &[]).await?.get(0);
    if !done {
        client.execute(&format!("SELECT create_distributed_table('{WORKLOAD_TABLE}', 'bucket')"), &[]).await?;
    }
    Ok(())
}

/// Citus: the buckets whose shard is placed on each worker group, from pg_dist_placement
/// (placements do not move during a drill, so a write's group is known before it is sent).
pub async fn buckets_by_group(endpoint: &PgEndpoint) -> Result<BTreeMap<u32, Vec<i32>>, String> {
    try_buckets_by_group(endpoint).await.map_err(|e| e.to_string())
}

/// [`buckets_by_group`], typed.
async fn try_buckets_by_group(endpoint: &PgEndpoint) -> Result<BTreeMap<u32, Vec<i32>>, WorkloadError> {
    let client = connect(endpoint, Duration::from_secs(2)).await?;
    let sql = format!(
        "SELECT b, pl.groupid FROM generate_series(0, $1 - 1) AS b \
         JOIN pg_catalog.pg_dist_placement pl \
           ON pl.shardid = get_shard_id_for_distribution_column('{WORKLOAD_TABLE}', b) \
         ORDER BY b"
    );
    let rows = within("the shard placement lookup", Duration::from_secs(10), client.query(&sql, &[&BUCKETS]))
        .await?
        .map_err(|source| statement_failed("look up the shard placements", source))?;
    let mut groups: BTreeMap<u32, Vec<i32>> = BTreeMap::new();
    for row in rows {
        let id: i32 = row.get(1);
        let group = u32::try_from(id).map_err(|_| WorkloadError::BadGroup(id))?;
        groups.entry(group).or_default().push(row.get(0));
    }
    Ok(groups)
}
