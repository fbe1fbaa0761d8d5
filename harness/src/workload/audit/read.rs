//! Reading the leader and each replica on its own port, and what the audit records for each.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::error::WorkloadError;
use super::super::pg::connect;
use super::ids::{compress_ids, duplicates};
use super::node::{leader_state, read_ids, replay_state, LeaderState, ReplayState};
use super::AuditMember;
use crate::timeline::{AuditRead, AuditRole, EventKind};
use crate::wait::{poll_until, Probe};
use crate::workload::WorkloadTable;

/// Bound on connecting to one member.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A member still gets this long to answer when the audit's deadline has (nearly) passed.
const LEAST: Duration = Duration::from_secs(3);

/// The time left before `deadline`, but at least [`LEAST`].
pub(super) fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(LEAST)
}

/// The leader's rows and state, as recorded.
#[derive(Debug)]
pub(super) struct LeaderRead {
    /// Its state once the writers stopped.
    pub state: LeaderState,
    /// Rows present.
    pub rows: usize,
    /// The event to record.
    pub event: EventKind,
}

/// Reads the leader, waiting until `deadline` for it to leave recovery (just promoted);
/// `cluster` names every member of its Patroni cluster.
pub(super) async fn read_leader(
    member: &AuditMember,
    table: &WorkloadTable,
    cluster: Vec<String>,
    why: String,
    deadline: Instant,
) -> Result<LeaderRead, WorkloadError> {
    let what = format!("{} (the DCS's leader) to answer as a primary on its own port", member.name);
    let state = poll_until(&what, left(deadline), Duration::from_millis(200), || async {
        let client = match connect(&member.pg, CONNECT_TIMEOUT).await {
            Ok(client) => client,
            Err(e) => return Probe::not_yet(e),
        };
        match leader_state(&client).await {
            Ok(state) => match read_ids(&client, table).await {
                Ok(ids) => Probe::Done((state, ids)),
                Err(e) => Probe::not_yet(e),
            },
            Err(e) => Probe::not_yet(e),
        }
    })
    .await?;
    let (state, ids) = state;
    let read = AuditRead {
        role: AuditRole::Leader,
        why,
        system_identifier: Some(state.system_identifier.clone()),
        timeline: Some(state.timeline),
        lsn: Some(state.lsn.clone()),
        caught_up: None,
        cluster,
        duplicates: duplicates(&ids),
    };
    let event = EventKind::WriteAudit { present: compress_ids(&ids), source: member.name.clone(), read: Some(read) };
    Ok(LeaderRead { state, rows: ids.len(), event })
}

/// Reads a replica once it has replayed up to `leader_lsn` (or its replay is paused, or it is
/// not in recovery, or `deadline` has passed: then it is read as it is, and the reason recorded).
pub(super) async fn read_replica(
    member: &AuditMember,
    table: &WorkloadTable,
    leader_lsn: &str,
    deadline: Instant,
) -> Result<EventKind, WorkloadError> {
    let client = connect(&member.pg, CONNECT_TIMEOUT).await?;
    let last: Mutex<Option<ReplayState>> = Mutex::new(None);
    let what = format!("{} to replay up to the leader's {leader_lsn}", member.name);
    let (client_ref, last_ref) = (&client, &last);
    let waited = poll_until(
        &what,
        deadline.saturating_duration_since(Instant::now()),
        Duration::from_millis(50),
        || async move {
            match replay_state(client_ref, leader_lsn).await {
                Ok(state) => {
                    let settled = state.settled();
                    let seen = format!("replayed to {}", state.lsn.as_deref().unwrap_or("nothing"));
                    *last_ref.lock().expect("replay state lock") = Some(state);
                    if settled {
                        Probe::Done(())
                    } else {
                        Probe::NotYet(seen)
                    }
                }
                Err(e) => Probe::not_yet(e),
            }
        },
    )
    .await;
    let state = match last.into_inner().expect("replay state lock") {
        Some(state) => state,
        None => replay_state(&client, leader_lsn).await?,
    };
    let ids = read_ids(&client, table).await?;
    let why = replica_why(&state, leader_lsn, waited.err().map(|t| t.to_string()));
    let read = AuditRead {
        role: AuditRole::Replica,
        why,
        system_identifier: Some(state.system_identifier.clone()),
        timeline: None,
        lsn: state.lsn.clone(),
        caught_up: Some(state.caught_up),
        cluster: Vec::new(),
        duplicates: duplicates(&ids),
    };
    Ok(EventKind::WriteAudit { present: compress_ids(&ids), source: member.name.clone(), read: Some(read) })
}

/// Why a replica was read as it was, for the verdict.
fn replica_why(state: &ReplayState, leader_lsn: &str, timed_out: Option<String>) -> String {
    let at = state.lsn.as_deref().unwrap_or("nothing");
    if !state.in_recovery {
        "not in recovery: a second primary".to_string()
    } else if state.caught_up {
        format!("replica, replayed up to the leader's {leader_lsn}")
    } else if state.paused {
        format!("replica with replay paused at {at}, the leader at {leader_lsn}")
    } else {
        format!("replica at {at}, the leader at {leader_lsn}: {}", timed_out.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(caught_up: bool, paused: bool, in_recovery: bool) -> ReplayState {
        ReplayState { system_identifier: "7".into(), in_recovery, lsn: Some("0/3000".into()), caught_up, paused }
    }

    #[test]
    fn says_why_a_replica_was_read_as_it_was() {
        assert_eq!(
            replica_why(&state(true, false, true), "0/3000", None),
            "replica, replayed up to the leader's 0/3000"
        );
        assert_eq!(
            replica_why(&state(false, true, true), "0/4000", None),
            "replica with replay paused at 0/3000, the leader at 0/4000"
        );
        assert_eq!(replica_why(&state(false, false, false), "0/4000", None), "not in recovery: a second primary");
        let late = replica_why(&state(false, false, true), "0/4000", Some("timed out after 30.0s".into()));
        assert_eq!(late, "replica at 0/3000, the leader at 0/4000: timed out after 30.0s");
    }
}
