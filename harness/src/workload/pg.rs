//! The workload's table: created (on Citus, distributed over every worker group; on an attached
//! cluster in its own schema, created when missing) before the writers start, dropped after an
//! attached run, and where its buckets landed; connections with typed errors.
use std::collections::BTreeMap;
use std::time::Duration;

use tokio_postgres::Client;

use super::error::WorkloadError;
use super::table::{WorkloadTable, SCHEMA_MARKER};
use crate::pg::{short, PgEndpoint};
use crate::wait::{poll_until, within, Probe};

/// Buckets (values of the Citus distribution column) the workload spreads its rows over: enough
/// that every shard, and so every worker group, gets some.
pub const BUCKETS: i32 = 64;

/// Creates the workload table `table` (idempotent) through `endpoint`, retrying until
/// `deadline`; its schema first when it has one that does not exist (marked as pgdrill's).
/// `distributed`: make it a Citus table distributed by `bucket` (see [`BUCKETS`]), so rows spread
/// over every worker group and a writer can aim at one group.
pub async fn prepare_table(
    endpoint: &PgEndpoint,
    table: &WorkloadTable,
    distributed: bool,
    deadline: Duration,
) -> Result<(), String> {
    try_prepare_table(endpoint, table, distributed, deadline).await.map_err(|e| e.to_string())
}

/// Drops the workload table, and its schema when pgdrill created it (an attached cluster
/// outlives the run: each run starts with an empty table and leaves none behind), retrying until
/// `deadline` (after a stopped run the cluster may still be electing its leader). The schema is
/// dropped without CASCADE: anything else in it keeps it (and the error says so). Returns what
/// was dropped.
pub async fn drop_table(endpoint: &PgEndpoint, table: &WorkloadTable, deadline: Duration) -> Result<String, String> {
    let what = format!("the workload table {table} to be dropped");
    let probe = || async {
        match drop_once(endpoint, table, Duration::from_secs(5)).await {
            Ok(done) => Probe::Done(done),
            Err(e) => Probe::NotYet(e),
        }
    };
    poll_until(&what, deadline, Duration::from_millis(500), probe).await.map_err(|e| e.to_string())
}

async fn drop_once(endpoint: &PgEndpoint, table: &WorkloadTable, timeout: Duration) -> Result<String, String> {
    let client = connect(endpoint, timeout).await.map_err(|e| e.to_string())?;
    let run = |sql: String, action: &'static str| {
        let client = &client;
        async move {
            within(action, timeout, client.batch_execute(&sql))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| statement_failed(action, e).to_string())
        }
    };
    run(format!("DROP TABLE IF EXISTS {}", table.sql()), "drop the workload table").await?;
    let Some(schema) = table.schema() else { return Ok(format!("dropped table {table}")) };
    let ours = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace                 WHERE nspname = $1 AND pg_catalog.obj_description(oid, 'pg_namespace') = $2)";
    let ours = within("the schema lookup", timeout, client.query_one(ours, &[&schema, &SCHEMA_MARKER]))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| statement_failed("look up the workload schema", e).to_string())?;
    if !ours.get::<_, bool>(0) {
        return Ok(format!("dropped table {table}; schema {schema} is not pgdrill's (or gone) and stays"));
    }
    run(format!("DROP SCHEMA {schema}"), "drop the workload schema").await?;
    Ok(format!("dropped table {table} and schema {schema} (pgdrill created it)"))
}

/// Empties the workload table when it exists (`TRUNCATE`; on Citus the coordinator truncates
/// every worker group's shards), for a drill that runs on a cluster an earlier drill used: the
/// audit counts any row the drill did not write as a phantom. Returns how many rows it held.
pub async fn empty_table(endpoint: &PgEndpoint, table: &WorkloadTable, timeout: Duration) -> Result<u64, String> {
    let rows = table_rows(endpoint, table, timeout).await?;
    if rows == 0 {
        return Ok(0); // absent or empty
    }
    let client = connect(endpoint, timeout).await.map_err(|e| e.to_string())?;
    let truncate = format!("TRUNCATE {}", table.sql());
    within("the workload table's truncation", timeout, client.batch_execute(&truncate))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| statement_failed("truncate the workload table", e).to_string())?;
    Ok(rows)
}

/// How many rows the workload table holds (0 when it does not exist).
pub async fn table_rows(endpoint: &PgEndpoint, table: &WorkloadTable, timeout: Duration) -> Result<u64, String> {
    let client = connect(endpoint, timeout).await.map_err(|e| e.to_string())?;
    let sql =
        format!("SELECT CASE WHEN to_regclass('{0}') IS NULL THEN 0 ELSE (SELECT count(*) FROM {0}) END", table.sql());
    let rows = within("the workload table's count", timeout, client.query_one(&sql, &[]))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| statement_failed("count the workload table", e).to_string())?;
    Ok(rows.get::<_, i64>(0).max(0) as u64)
}

/// [`prepare_table`], typed.
async fn try_prepare_table(
    endpoint: &PgEndpoint,
    table: &WorkloadTable,
    distributed: bool,
    deadline: Duration,
) -> Result<(), WorkloadError> {
    let what = format!("the workload table {table} to be created");
    let probe = || async {
        let client = match connect(endpoint, Duration::from_secs(2)).await {
            Ok(client) => client,
            Err(e) => return Probe::not_yet(e),
        };
        if let Some(schema) = table.schema() {
            if let Err(source) = create_schema(&client, schema).await {
                return Probe::not_yet(statement_failed("create the workload schema", source));
            }
        }
        let created =
            if distributed { create_distributed(&client, table).await } else { create_plain(&client, table).await };
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

/// Creates `schema` when it does not exist, marked as pgdrill's (one transaction: a schema
/// without the mark is never pgdrill's to drop).
async fn create_schema(client: &Client, schema: &str) -> Result<(), tokio_postgres::Error> {
    let exists = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)";
    if client.query_one(exists, &[&schema]).await?.get::<_, bool>(0) {
        return Ok(());
    }
    // The marker is a constant without quotes; the schema a checked identifier.
    client
        .batch_execute(&format!(
            "BEGIN; CREATE SCHEMA IF NOT EXISTS {schema}; COMMENT ON SCHEMA {schema} IS '{SCHEMA_MARKER}'; COMMIT"
        ))
        .await
}

async fn create_plain(client: &Client, table: &WorkloadTable) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY, writer int NOT NULL, \
             written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
}

/// The Citus table: the distribution column must be part of the primary key.
async fn create_distributed(client: &Client, table: &WorkloadTable) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (id bigint NOT NULL, bucket int NOT NULL, \
             writer int NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), \
             PRIMARY KEY (bucket, id))"
        ))
        .await?;
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = '{table}'::regclass)");
    let done: bool = client.query_one(&sql, &[]).await?.get(0);
    if !done {
        client.execute(&format!("SELECT create_distributed_table('{table}', 'bucket')"), &[]).await?;
    }
    Ok(())
}

/// Citus: the buckets whose shard is placed on each worker group, from pg_dist_placement
/// (placements do not move during a drill, so a write's group is known before it is sent).
pub async fn buckets_by_group(endpoint: &PgEndpoint, table: &WorkloadTable) -> Result<BTreeMap<u32, Vec<i32>>, String> {
    try_buckets_by_group(endpoint, table).await.map_err(|e| e.to_string())
}

/// [`buckets_by_group`], typed.
async fn try_buckets_by_group(
    endpoint: &PgEndpoint,
    table: &WorkloadTable,
) -> Result<BTreeMap<u32, Vec<i32>>, WorkloadError> {
    let client = connect(endpoint, Duration::from_secs(2)).await?;
    let sql = format!(
        "SELECT b, pl.groupid FROM generate_series(0, $1 - 1) AS b \
         JOIN pg_catalog.pg_dist_placement pl \
           ON pl.shardid = get_shard_id_for_distribution_column('{table}', b) \
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
