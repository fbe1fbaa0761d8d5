//! The workload's table: created (on Citus, distributed over every worker group) before the
//! writers start, and where its buckets landed.
use std::time::Duration;

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::pg::{short, PgEndpoint};

/// The table the workload writes.
pub const WORKLOAD_TABLE: &str = "pgdrill_writes";

/// Buckets (values of the Citus distribution column) the workload spreads its rows over: enough
/// that every shard, and so every worker group, gets some.
pub const BUCKETS: i32 = 64;

/// Creates the workload table (idempotent) through `endpoint`, retrying until `deadline`.
/// `distributed`: make it a Citus table distributed by `bucket` (see [`BUCKETS`]), so rows spread
/// over every worker group and a writer can aim at one group.
pub async fn prepare_table(endpoint: &PgEndpoint, distributed: bool, deadline: Duration) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    let mut last_error = String::new();
    while start.elapsed() < deadline {
        match endpoint.connect(Duration::from_secs(2)).await {
            Ok(client) => {
                let created = if distributed { create_distributed(&client).await } else { create_plain(&client).await };
                match created {
                    Ok(()) => return Ok(()),
                    Err(e) => last_error = short(&e),
                }
            }
            Err(e) => last_error = e,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("could not create {WORKLOAD_TABLE} within {}s: {last_error}", deadline.as_secs()))
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
    let client = endpoint.connect(Duration::from_secs(2)).await?;
    let sql = format!(
        "SELECT b, pl.groupid FROM generate_series(0, $1 - 1) AS b \
         JOIN pg_catalog.pg_dist_placement pl \
           ON pl.shardid = get_shard_id_for_distribution_column('{WORKLOAD_TABLE}', b) \
         ORDER BY b"
    );
    let rows = tokio::time::timeout(Duration::from_secs(10), client.query(&sql, &[&BUCKETS]))
        .await
        .map_err(|_| "shard placement lookup took over 10s".to_string())?
        .map_err(|e| short(&e))?;
    let mut groups: BTreeMap<u32, Vec<i32>> = BTreeMap::new();
    for row in rows {
        let group = u32::try_from(row.get::<_, i32>(1)).map_err(|_| "negative group id".to_string())?;
        groups.entry(group).or_default().push(row.get(0));
    }
    Ok(groups)
}
