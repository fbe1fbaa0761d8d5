//! Citus: polls pg_dist_node on the coordinator group's running primary (10 Hz) and records every
//! change, so checks can tell when the coordinator learnt of a worker group's new primary. After
//! a coordinator failover it follows the new primary, which the Patroni observer finds.
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::LiveView;
use crate::timeline::{DistNodeRow, EventKind, TimelineWriter};
use crate::wait::within;
use crate::workload::PgEndpoint;

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
        .map_err(|e| crate::workload::short_pg_error(&e))?;
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

/// The active primary row of each group, e.g. {1: "worker1-2"}. A `-demoted` name (a worker
/// switchover in flight) is returned as it is, so it matches no member.
pub fn primaries_by_group(rows: &[DistNodeRow]) -> std::collections::BTreeMap<u32, String> {
    rows.iter().filter(|r| r.role == "primary" && r.active).map(|r| (r.group, r.node.clone())).collect()
}

/// "0: coord-1; 1: worker1-2 (+1 secondary); ...": pg_dist_node in one line.
pub fn describe_dist_nodes(rows: &[DistNodeRow]) -> String {
    let mut groups: std::collections::BTreeMap<u32, (Vec<String>, usize)> = Default::default();
    for row in rows {
        let entry = groups.entry(row.group).or_default();
        if row.role == "primary" {
            entry.0.push(if row.active { row.node.clone() } else { format!("{} (inactive)", row.node) });
        } else {
            entry.1 += 1;
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(group, (primaries, secondaries))| {
            let primary = if primaries.is_empty() { "no primary".to_string() } else { primaries.join(", ") };
            let more = if *secondaries > 0 { format!(" (+{secondaries} secondary)") } else { String::new() };
            format!("{group}: {primary}{more}")
        })
        .collect();
    if parts.is_empty() {
        "empty".to_string()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: u32, node: &str, role: &str) -> DistNodeRow {
        DistNodeRow { group, node: node.into(), port: 5432, role: role.into(), active: true }
    }

    #[test]
    fn primaries_and_description() {
        let rows = vec![
            row(0, "coord-1", "primary"),
            row(1, "worker1-1-demoted", "primary"),
            row(1, "worker1-2", "secondary"),
            row(2, "worker2-1", "primary"),
        ];
        let primaries = primaries_by_group(&rows);
        assert_eq!(primaries[&1], "worker1-1-demoted");
        assert_eq!(primaries.len(), 3);
        assert_eq!(describe_dist_nodes(&rows), "0: coord-1; 1: worker1-1-demoted (+1 secondary); 2: worker2-1");
        assert_eq!(describe_dist_nodes(&[]), "empty");
    }
}
