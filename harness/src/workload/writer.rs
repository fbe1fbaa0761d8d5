//! Writers: each inserts one row per tick at its share of the rate, reconnecting after errors.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::task::JoinSet;
use tokio_postgres::types::Type;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::client_path::ClientPath;
use super::table::WorkloadTable;
use crate::pg::short;
use crate::timeline::{EventKind, TimelineWriter, WriteOutcome};
use crate::wait::within;

/// Bound on (re)connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How much traffic.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The writers talk to a pooler (`topology.pooler`): each insert is then one round trip with
    /// an unnamed statement, as clients of a transaction-mode PgBouncer must (1.18, Debian
    /// bookworm's, does not carry a named prepared statement over to the next transaction's
    /// server connection).
    pub pooled: bool,
    /// Concurrent writers.
    pub writers: u16,
    /// Total inserts per second.
    pub rate_per_second: f64,
    /// Bound on one insert: past it the attempt counts as failed (it may still commit later,
    /// which the audit reveals). Citus writes wait, by design, while Patroni switches a worker
    /// group over, so their bound is longer.
    pub statement_timeout: Duration,
    /// Citus: the buckets placed on each worker group. Writers are then split evenly over the
    /// groups and each writes only to its own, so a group whose writes wait does not hold up the
    /// others' (as with real clients, which do not share one connection across groups).
    pub routes: Option<BTreeMap<u32, Vec<i32>>>,
    /// Citus: each write is a transaction block writing one row to the writer's group and one
    /// to the next group (two-phase commit across worker groups).
    pub multi_shard: bool,
    /// The table the rows go to.
    pub table: WorkloadTable,
}

/// Where one writer's rows go.
#[derive(Debug, Clone)]
struct Route {
    group: u32,
    buckets: Vec<i32>,
}

/// Running writers; `stop` ends them.
#[derive(Debug)]
pub struct WorkloadHandle {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl WorkloadHandle {
    /// Starts the writers on `path` (started on its direct endpoint by the caller).
    pub fn start(config: &WriterConfig, path: ClientPath, timeline: TimelineWriter) -> Self {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let next_id = Arc::new(AtomicU64::new(1));
        let routes: Vec<Route> = config
            .routes
            .iter()
            .flatten()
            .map(|(group, buckets)| Route { group: *group, buckets: buckets.clone() })
            .collect();
        // At least one writer per group.
        let writers = u32::from(config.writers).max(routes.len() as u32).max(1);
        let per_writer = config.rate_per_second / f64::from(writers);
        let period = Duration::from_secs_f64(1.0 / per_writer.max(0.01));
        for writer in 0..writers {
            let at = |offset: u32| routes[(writer + offset) as usize % routes.len()].clone();
            let w = Writer {
                route: (!routes.is_empty()).then(|| at(0)),
                second: (config.multi_shard && routes.len() > 1).then(|| at(1)),
                index: writer,
                path: path.clone(),
                period,
                statement_timeout: config.statement_timeout,
                pooled: config.pooled,
                table: config.table.sql(),
                next_id: next_id.clone(),
                timeline: timeline.clone(),
            };
            tasks.spawn(w.run(cancel.clone()));
        }
        Self { cancel, tasks }
    }

    /// Stops the writers and waits for in-flight attempts to end (each is bounded).
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Writer {
    index: u32,
    route: Option<Route>,
    /// Multi-shard writes: where each transaction's second row goes.
    second: Option<Route>,
    /// Where to (re)connect: the direct path, or a client link fault's proxy.
    path: ClientPath,
    period: Duration,
    statement_timeout: Duration,
    pooled: bool,
    /// The table's SQL name.
    table: String,
    next_id: Arc<AtomicU64>,
    timeline: TimelineWriter,
}

impl Writer {
    async fn run(self, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.period);
        // After a stall (failover), continue at the rate instead of bursting to catch up.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // The connection and the path generation it was made on.
        let mut client: Option<(Client, u64)> = None;
        let statement = match self.route {
            Some(_) => format!("INSERT INTO {} (id, bucket, writer) VALUES ($1, $3, $2)", self.table),
            None => format!("INSERT INTO {} (id, writer) VALUES ($1, $2)", self.table),
        };
        let mut sent = 0usize;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let rows = if self.second.is_some() { 2 } else { 1 };
            let id = self.next_id.fetch_add(rows, Ordering::Relaxed);
            let bucket = self.route.as_ref().map(|r| r.buckets[sent % r.buckets.len()]);
            let second = self.second.as_ref().map(|r| (id + 1, r.buckets[sent % r.buckets.len()]));
            sent += 1;
            let sent_at = self.timeline.now();
            let result = match second {
                Some(second) => self.attempt_transaction(&mut client, (id, bucket.unwrap_or(0)), second).await,
                None => self.attempt(&mut client, &statement, id, bucket).await,
            };
            let outcome = match result {
                Ok(()) => WriteOutcome::Acked { acked_at: self.timeline.now() },
                Err(error) => {
                    // Drop the connection: after a failover it points at a demoted node.
                    client = None;
                    WriteOutcome::Failed { failed_at: self.timeline.now(), error: error.to_string() }
                }
            };
            let group = self.route.as_ref().map(|r| r.group);
            let txn = self.second.is_some().then_some(id);
            if let Some(second) = &self.second {
                let (writer, group, outcome) = (self.index, Some(second.group), outcome.clone());
                self.timeline.record(EventKind::Write { id: id + 1, writer, group, txn, sent_at, outcome });
            }
            self.timeline.record(EventKind::Write { id, writer: self.index, group, txn, sent_at, outcome });
        }
    }

    /// The connection, (re)made when it is missing, closed or made on an earlier path.
    async fn connected<'c>(&self, client: &'c mut Option<(Client, u64)>) -> Result<&'c Client, WriteFailure> {
        // A connection made before the path changed is replaced: it keeps the old path.
        let generation = self.path.generation();
        if client.as_ref().is_none_or(|(c, made_on)| c.is_closed() || *made_on != generation) {
            *client = None;
            let (endpoint, made_on) = self.path.current().ok_or(WriteFailure::NoPath)?;
            *client = Some((endpoint.connect(CONNECT_TIMEOUT).await.map_err(WriteFailure::Connect)?, made_on));
        }
        Ok(&client.as_ref().expect("connected above").0)
    }

    /// A multi-shard write: both rows in one transaction block, sent as one simple query (one
    /// round trip; an error skips the rest and the connection is dropped by the caller).
    async fn attempt_transaction(
        &self,
        client: &mut Option<(Client, u64)>,
        (id, bucket): (u64, i32),
        (second_id, second_bucket): (u64, i32),
    ) -> Result<(), WriteFailure> {
        let c = self.connected(client).await?;
        let (table, writer) = (&self.table, self.index);
        let sql = format!(
            "BEGIN; INSERT INTO {table} (id, bucket, writer) VALUES ({id}, {bucket}, {writer}); \
             INSERT INTO {table} (id, bucket, writer) VALUES ({second_id}, {second_bucket}, {writer}); COMMIT"
        );
        match within("the transaction", self.statement_timeout, c.batch_execute(&sql)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WriteFailure::Statement(e)),
            Err(_) => Err(WriteFailure::NoAnswer(self.statement_timeout)),
        }
    }

    async fn attempt(
        &self,
        client: &mut Option<(Client, u64)>,
        statement: &str,
        id: u64,
        bucket: Option<i32>,
    ) -> Result<(), WriteFailure> {
        let c = self.connected(client).await?;
        let id_param = i64::try_from(id).map_err(|_| WriteFailure::Overflow("id"))?;
        let writer_param = i32::try_from(self.index).map_err(|_| WriteFailure::Overflow("writer"))?;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&id_param, &writer_param];
        if let Some(bucket) = &bucket {
            params.push(bucket);
        }
        let execute = async {
            if self.pooled {
                let types = [Type::INT8, Type::INT4, Type::INT4];
                let typed: Vec<_> = params.iter().copied().zip(types).collect();
                c.execute_typed(statement, &typed).await
            } else {
                c.execute(statement, &params).await
            }
        };
        match within("the insert", self.statement_timeout, execute).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(WriteFailure::Statement(e)),
            Err(_) => Err(WriteFailure::NoAnswer(self.statement_timeout)),
        }
    }
}

/// Why one insert failed. Its text is recorded on the timeline and quoted in verdicts, so it is
/// short and its wording stable.
#[derive(Debug, Error)]
enum WriteFailure {
    /// (Re)connecting failed; the text is the connection's.
    #[error("{0}")]
    Connect(String),
    /// The server answered with an error.
    #[error("{}", short(.0))]
    Statement(#[source] tokio_postgres::Error),
    /// No answer within the statement bound.
    #[error("no answer within {}s", .0.as_secs())]
    NoAnswer(Duration),
    /// The workload was started on a path never set (a bug of the caller).
    #[error("no client path")]
    NoPath,
    /// A parameter does not fit its column.
    #[error("{0} overflow")]
    Overflow(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_texts_stay_as_recorded_before() {
        assert_eq!(WriteFailure::NoAnswer(Duration::from_secs(5)).to_string(), "no answer within 5s");
        assert_eq!(WriteFailure::Overflow("id").to_string(), "id overflow");
        let connect = WriteFailure::Connect("connect timed out after 1000ms".into());
        assert_eq!(connect.to_string(), "connect timed out after 1000ms");
    }
}
