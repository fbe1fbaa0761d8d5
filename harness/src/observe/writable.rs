//! The split-brain probe: asks every member's PostgreSQL directly, on its own port (not through
//! HAProxy, not through Patroni), whether it accepts writes — `NOT pg_is_in_recovery()` — and
//! records each change. `single_primary` judges from these answers too, so two writable members
//! at once are caught even when HAProxy routes to only one of them and Patroni's API says
//! otherwise.
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use crate::pg::PgEndpoint;
use crate::timeline::{EventKind, TimelineWriter};

/// Probes members' PostgreSQL ports published on loopback.
#[derive(Debug, Clone)]
pub struct WritableProbe {
    /// (member name, its own PostgreSQL endpoint).
    pub members: Vec<(String, PgEndpoint)>,
    /// Time between two questions to one member (4 Hz: a split brain shorter than that can be
    /// missed, never invented — only answers count).
    pub interval: Duration,
    /// Bound for one connection attempt or query: a paused member must not stall the probe.
    pub timeout: Duration,
}

impl WritableProbe {
    /// A probe asking every 250 ms with a 400 ms bound.
    pub fn new(members: Vec<(String, PgEndpoint)>) -> Self {
        Self { members, interval: Duration::from_millis(250), timeout: Duration::from_millis(400) }
    }

    /// Spawns one task per member into `tasks`; they stop when `cancel` fires.
    pub fn spawn(&self, tasks: &mut JoinSet<()>, timeline: TimelineWriter, cancel: CancellationToken) {
        for (member, endpoint) in &self.members {
            let asker = Asker {
                member: member.clone(),
                endpoint: endpoint.clone(),
                interval: self.interval,
                timeout: self.timeout,
            };
            tasks.spawn(asker.run(timeline.clone(), cancel.clone()));
        }
    }
}

struct Asker {
    member: String,
    endpoint: PgEndpoint,
    interval: Duration,
    timeout: Duration,
}

impl Asker {
    async fn run(self, timeline: TimelineWriter, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut client: Option<Client> = None;
        // The last answer and when it was last given.
        let mut last: Option<(Option<bool>, u64)> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let writable = self.ask(&mut client).await;
            let at = timeline.now();
            match &mut last {
                Some((previous, seen)) if *previous == writable => *seen = at,
                _ => {
                    let prev_seen_at = last.map(|(_, seen)| seen);
                    timeline.record(EventKind::Writable { member: self.member.clone(), writable, prev_seen_at });
                    last = Some((writable, at));
                }
            }
        }
    }

    /// `Some(true)` when the member said it accepts writes, `Some(false)` when it said it is in
    /// recovery, `None` when it did not answer (which ends what is known).
    async fn ask(&self, client: &mut Option<Client>) -> Option<bool> {
        if client.as_ref().is_none_or(Client::is_closed) {
            *client = self.endpoint.connect(self.timeout).await.ok();
        }
        let c = client.as_ref()?;
        let query = c.query_one("SELECT NOT pg_is_in_recovery()", &[]);
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(row)) => Some(row.get(0)),
            _ => {
                *client = None;
                None
            }
        }
    }
}
