//! The pooler observer: asks PgBouncer's admin console (`SHOW POOLS`, `SHOW STATS`) twice a
//! second what its clients and server connections are doing, and records the workload's pool
//! line when it changes (and at least every 2 s, with the counters), so the timeline shows
//! clients queueing (`cl_waiting`, `maxwait`) and server connections logging in (`sv_login`)
//! while Patroni fails over. It never acts on the pooler (no `PAUSE`, `RECONNECT`, ...).
use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_postgres::{Client, SimpleQueryMessage};
use tokio_util::sync::CancellationToken;

use crate::pg::{short, PgEndpoint};
use crate::timeline::{EventKind, PoolerPools, PoolerStats, TimelineWriter};

/// Polls one PgBouncer's admin console.
#[derive(Debug, Clone)]
pub struct PoolerObserver {
    /// The admin console (database `pgbouncer`).
    pub console: PgEndpoint,
    /// The pooled database whose pool line and counters are recorded.
    pub database: String,
    /// Time between two polls.
    pub interval: Duration,
    /// Bound on connecting or on one `SHOW`.
    pub timeout: Duration,
    /// An unchanged pool line is recorded again after this long (the counters move meanwhile).
    pub heartbeat: Duration,
}

impl PoolerObserver {
    /// An observer polling every 500 ms with a 1 s bound, recording at least every 2 s.
    pub fn new(console: PgEndpoint, database: &str) -> Self {
        Self {
            console,
            database: database.to_string(),
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
            heartbeat: Duration::from_secs(2),
        }
    }

    /// Spawns the polling task into `tasks`; it stops when `cancel` fires.
    pub fn spawn(&self, tasks: &mut JoinSet<()>, timeline: TimelineWriter, cancel: CancellationToken) {
        tasks.spawn(self.clone().run(timeline, cancel));
    }

    async fn run(self, timeline: TimelineWriter, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut client: Option<Client> = None;
        let mut last: Option<(Option<PoolerPools>, Option<String>, u64)> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let (pools, stats, error) = match self.poll(&mut client).await {
                Ok((pools, stats)) => (pools, stats, None),
                Err(error) => {
                    client = None;
                    (None, None, Some(error))
                }
            };
            let now = timeline.now();
            let heartbeat = self.heartbeat.as_millis() as u64;
            let due = match &last {
                Some((p, e, at)) => *p != pools || *e != error || now.saturating_sub(*at) >= heartbeat,
                None => true,
            };
            if due {
                let kind = EventKind::Pooler {
                    database: self.database.clone(),
                    pools: pools.clone(),
                    stats,
                    error: error.clone(),
                };
                timeline.record(kind);
                last = Some((pools, error, now));
            }
        }
    }

    /// The workload pool's `SHOW POOLS` line (`None` until a client has used it) and the
    /// database's `SHOW STATS` counters.
    async fn poll(&self, client: &mut Option<Client>) -> Result<(Option<PoolerPools>, Option<PoolerStats>), String> {
        if client.as_ref().is_none_or(Client::is_closed) {
            *client = Some(self.console.connect(self.timeout).await?);
        }
        let c = client.as_ref().expect("connected above");
        let pools = self.show(c, "SHOW POOLS").await?;
        let stats = self.show(c, "SHOW STATS").await?;
        let ours = |rows: &[HashMap<String, String>]| {
            rows.iter().find(|row| row.get("database").map(String::as_str) == Some(self.database.as_str())).cloned()
        };
        Ok((ours(&pools).map(|row| pools_line(&row)), ours(&stats).map(|row| stats_line(&row))))
    }

    /// One admin command's rows, as column → text (the console speaks the simple protocol only).
    async fn show(&self, client: &Client, command: &str) -> Result<Vec<HashMap<String, String>>, String> {
        let messages = tokio::time::timeout(self.timeout, client.simple_query(command))
            .await
            .map_err(|_| format!("{command}: no answer within {}ms", self.timeout.as_millis()))?
            .map_err(|e| format!("{command}: {}", short(&e)))?;
        Ok(messages
            .iter()
            .filter_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(
                    row.columns()
                        .iter()
                        .enumerate()
                        .map(|(i, column)| (column.name().to_string(), row.get(i).unwrap_or_default().to_string()))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }
}

/// A number column (0 when PgBouncer's version has no such column).
fn number(row: &HashMap<String, String>, column: &str) -> i64 {
    row.get(column).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn pools_line(row: &HashMap<String, String>) -> PoolerPools {
    let maxwait_ms = number(row, "maxwait").max(0) as u64 * 1_000 + number(row, "maxwait_us").max(0) as u64 / 1_000;
    PoolerPools {
        cl_active: number(row, "cl_active"),
        cl_waiting: number(row, "cl_waiting"),
        sv_active: number(row, "sv_active"),
        sv_idle: number(row, "sv_idle"),
        sv_used: number(row, "sv_used"),
        sv_tested: number(row, "sv_tested"),
        sv_login: number(row, "sv_login"),
        maxwait_ms,
    }
}

fn stats_line(row: &HashMap<String, String>) -> PoolerStats {
    PoolerStats {
        xact_count: number(row, "total_xact_count"),
        query_count: number(row, "total_query_count"),
        wait_time_us: number(row, "total_wait_time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn show_pools_and_stats_lines_are_read_by_column_name() {
        // PgBouncer 1.18's SHOW POOLS columns (no `sv_active_cancel` in older ones: 0).
        let pools = pools_line(&row(&[
            ("database", "postgres"),
            ("cl_active", "2"),
            ("cl_waiting", "3"),
            ("sv_active", "1"),
            ("sv_idle", "4"),
            ("sv_used", "0"),
            ("sv_tested", "0"),
            ("sv_login", "1"),
            ("maxwait", "2"),
            ("maxwait_us", "350000"),
            ("pool_mode", "transaction"),
        ]));
        assert_eq!((pools.cl_waiting, pools.sv_login, pools.maxwait_ms), (3, 1, 2_350));
        let stats = stats_line(&row(&[("total_xact_count", "1200"), ("total_wait_time", "99"), ("x", "y")]));
        assert_eq!(stats, PoolerStats { xact_count: 1_200, query_count: 0, wait_time_us: 99 });
    }
}
