//! Citus: polls every worker group's running primary (4 Hz) for prepared transactions older than
//! [`ORPHAN_AGE`] — a two-phase commit that never got its COMMIT or ROLLBACK PREPARED, left for
//! Citus's transaction recovery — and records every change, so `no_orphaned_prepared_transactions`
//! can tell when recovery has cleaned up. A two-phase commit in flight holds its prepared
//! transaction for milliseconds; one older than a second is left behind.
use std::collections::BTreeMap;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::LiveView;
use crate::pg::PgEndpoint;
use crate::timeline::{EventKind, TimelineWriter};
use crate::wait::within;

/// Bound on connecting and on one query: a dead worker must not stall the poller.
const TIMEOUT: Duration = Duration::from_millis(400);
/// A prepared transaction older than this is counted as orphaned.
pub const ORPHAN_AGE: Duration = Duration::from_secs(1);
/// How many names an event keeps.
const SHOWN_GIDS: usize = 5;

/// What one read found: (count, the first names) or why it failed.
type Read = Result<(u64, Vec<String>), String>;

/// Polls the worker members' prepared transactions.
#[derive(Debug, Clone)]
pub struct PreparedXactsObserver {
    /// Worker members (groups above 0) with their PostgreSQL endpoint on loopback.
    pub workers: Vec<(String, PgEndpoint)>,
    /// Time between polls.
    pub interval: Duration,
}

impl PreparedXactsObserver {
    /// An observer of `workers` polling at 4 Hz.
    pub fn new(workers: Vec<(String, PgEndpoint)>) -> Self {
        Self { workers, interval: Duration::from_millis(250) }
    }

    /// Spawns the polling task into `tasks`; it stops when `cancel` fires.
    pub fn spawn(self, tasks: &mut JoinSet<()>, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        tasks.spawn(self.run(timeline, live, cancel));
    }

    async fn run(self, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut clients: BTreeMap<String, Client> = BTreeMap::new();
        let mut last: BTreeMap<String, Read> = BTreeMap::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let primaries = live.running_primaries();
            for (member, endpoint) in self.workers.iter().filter(|(m, _)| primaries.contains(m)) {
                let read = read_member(&mut clients, member, endpoint).await;
                if last.get(member) != Some(&read) {
                    let (count, gids, error) = match &read {
                        Ok((count, gids)) => (*count, gids.clone(), None),
                        Err(e) => (0, Vec::new(), Some(e.clone())),
                    };
                    timeline.record(EventKind::PreparedXacts { member: member.clone(), count, gids, error });
                    last.insert(member.clone(), read);
                }
            }
        }
    }
}

/// Reads `member`'s orphaned prepared transactions over its cached connection (made when missing).
async fn read_member(clients: &mut BTreeMap<String, Client>, member: &str, endpoint: &PgEndpoint) -> Read {
    if clients.get(member).is_none_or(Client::is_closed) {
        clients.remove(member);
        let client = endpoint.connect(TIMEOUT).await?;
        clients.insert(member.to_string(), client);
    }
    let client = clients.get(member).expect("connected above");
    let read = orphans(client).await;
    if read.is_err() {
        clients.remove(member);
    }
    read
}

async fn orphans(client: &Client) -> Read {
    let sql = format!(
        "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE prepared < pg_catalog.now() - interval '{} ms' ORDER BY prepared, gid",
        ORPHAN_AGE.as_millis()
    );
    // The text is recorded on the timeline once per distinct failure: keep it short and stable.
    let rows = within("pg_prepared_xacts", TIMEOUT, client.query(sql.as_str(), &[]))
        .await
        .map_err(|_| format!("no answer within {}ms", TIMEOUT.as_millis()))?
        .map_err(|e| crate::pg::short(&e))?;
    let gids = rows.iter().take(SHOWN_GIDS).map(|r| r.get::<_, String>(0)).collect();
    Ok((rows.len() as u64, gids))
}
