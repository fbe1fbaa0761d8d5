//! Citus: polls pg_dist_node on the coordinator group's running primary (10 Hz) and records every
//! change, so checks can tell when the coordinator learnt of a worker group's new primary. After
//! a coordinator failover it follows the new primary, which the Patroni observer finds.
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::LiveView;
use crate::pg::PgEndpoint;
use crate::timeline::{DistNodeRow, EventKind, TimelineWriter};
use crate::wait::within;

/// Bound on connecting and on one query: a paused or killed coordinator must not stall the poller.
const TIMEOUT: Duration = Duration::from_millis(400);

/// The rows pgdrill reads, in a stable order so that equal tables compare equal.
pub const DIST_NODE_QUERY: &str = "SELECT groupid, nodename::text, nodeport, noderole::text, isactive \
                                   FROM pg_catalog.pg_dist_node ORDER BY groupid, noderole, nodename";

/// Polls the coordinator's pg_dist_node.
#[derive(Debug, Clone)]
pub struct DistNodeObserver {
    /// Coordinator members with their PostgreSQL endpoint on loopback.
    pub coordinators: Vec<(String, PgEndpoint)>,
    /// Time between polls.
    pub interval: Duration,
}

impl DistNodeObserver {
    /// An observer of `coordinators` polling at 10 Hz.
    pub fn new(coordinators: Vec<(String, PgEndpoint)>) -> Self {
        Self { coordinators, interval: Duration::from_millis(100) }
    }

    /// Spawns the polling task into `tasks`; it stops when `cancel` fires.
    pub fn spawn(self, tasks: &mut JoinSet<()>, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        tasks.spawn(self.run(timeline, live, cancel));
    }

    async fn run(self, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut connected: Option<(String, Client)> = None;
        let mut last: Option<(String, Vec<DistNodeRow>)> = None;
        let mut last_error: Option<String> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let Some((member, endpoint)) = self.current_primary(&live) else { continue };
            if connected.as_ref().is_none_or(|(m, c)| *m != member || c.is_closed()) {
                connected = match endpoint.connect(TIMEOUT).await {
                    Ok(client) => Some((member.clone(), client)),
                    Err(e) => {
                        note_error(&timeline, &mut last_error, &member, &e);
                        None
                    }
                };
            }
            let Some((_, client)) = &connected else { continue };
            match read_dist_nodes(client).await {
                Ok(rows) => {
                    last_error = None;
                    let current = (member, rows);
                    if last.as_ref() != Some(&current) {
                        timeline.record(EventKind::DistNodes { source: current.0.clone(), rows: current.1.clone() });
                        last = Some(current);
                    }
                }
                Err(e) => {
                    note_error(&timeline, &mut last_error, &member, &e);
                    connected = None;
                }
            }
        }
    }

    /// The coordinator member the Patroni observer last saw as a running primary.
    fn current_primary(&self, live: &LiveView) -> Option<(String, PgEndpoint)> {
        let primaries = live.running_primaries();
        self.coordinators.iter().find(|(m, _)| primaries.contains(m)).cloned()
    }
}

async fn read_dist_nodes(client: &Client) -> Result<Vec<DistNodeRow>, String> {
    // The text is recorded on the timeline once per distinct failure: keep it short and stable.
    let rows = within("pg_dist_node", TIMEOUT, client.query(DIST_NODE_QUERY, &[]))
        .await
        .map_err(|_| format!("no answer within {}ms", TIMEOUT.as_millis()))?
        .map_err(|e| crate::pg::short(&e))?;
    Ok(rows
        .iter()
        .map(|r| DistNodeRow {
            group: u32::try_from(r.get::<_, i32>(0)).unwrap_or(u32::MAX),
            node: r.get(1),
            port: r.get(2),
            role: r.get(3),
            active: r.get(4),
        })
        .collect())
}

/// Records a failure once per distinct text (a dead coordinator fails every poll).
fn note_error(timeline: &TimelineWriter, last_error: &mut Option<String>, member: &str, error: &str) {
    let text = format!("pg_dist_node on {member}: {error}");
    if last_error.as_deref() != Some(text.as_str()) {
        timeline.record(EventKind::Note { source: "pg_dist_node observer".into(), text: text.clone() });
        *last_error = Some(text);
    }
}
