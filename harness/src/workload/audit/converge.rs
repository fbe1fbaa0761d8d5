//! The audit's first step: wait (bounded) until the DCS names a running leader and every other
//! member streams from it. A cluster that does not converge in time is still audited — the
//! reason goes into the verdict — unless the DCS names no leader at all.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::error::WorkloadError;
use super::dcs::{read_cluster, DcsView};
use super::AuditPlan;
use crate::wait::{poll_until, Probe};

/// Time between two `GET /cluster` reads.
const EVERY: Duration = Duration::from_millis(100);

/// The leader to read and why.
#[derive(Debug, Clone)]
pub(super) struct Converged {
    /// The member holding the leader key.
    pub leader: String,
    /// For the verdict: who named it, and whether (and how fast) the cluster converged.
    pub why: String,
}

/// Waits up to `plan.within` for the cluster to converge; falls back to the last leader seen.
pub(super) async fn converge(plan: &AuditPlan, http: &reqwest::Client) -> Result<Converged, WorkloadError> {
    // A member a fault left down cannot rejoin: waiting for it would only run out the bound.
    let up = plan.members.iter().filter(|m| !plan.left_down.contains(&m.name));
    let names: Vec<String> = up.clone().map(|m| m.name.clone()).collect();
    let rest: Vec<(String, String)> = up.map(|m| (m.name.clone(), m.rest_url.clone())).collect();
    let last: Mutex<Option<DcsView>> = Mutex::new(None);
    let started = Instant::now();
    let what = "the cluster to converge (the DCS naming a running leader, every other member streaming)";
    let (names_ref, rest_ref, last_ref) = (&names, &rest, &last);
    let outcome = poll_until(what, plan.within, EVERY, move || async move {
        match read_cluster(http, rest_ref).await.map(|view| view.renamed(&plan.patroni_names)) {
            Ok(view) => {
                let done = view.converged(names_ref);
                let seen = view.describe(names_ref);
                *last_ref.lock().expect("dcs view lock") = Some(view);
                if done {
                    Probe::Done(())
                } else {
                    Probe::NotYet(seen)
                }
            }
            Err(e) => Probe::NotYet(e),
        }
    })
    .await;
    let view = last.into_inner().expect("dcs view lock");
    let leader = view.as_ref().and_then(DcsView::leader).map(str::to_string);
    match (outcome, leader, view) {
        (Ok(()), Some(leader), Some(view)) => Ok(Converged {
            why: format!(
                "leader named by the DCS (GET /cluster on {}); cluster converged after {:.1}s",
                view.asked,
                started.elapsed().as_secs_f64()
            ),
            leader,
        }),
        (Err(timeout), Some(leader), Some(view)) => Ok(Converged {
            why: format!("leader named by the DCS (GET /cluster on {}); not converged: {timeout}", view.asked),
            leader,
        }),
        (Err(timeout), _, _) => Err(WorkloadError::Wait(timeout)),
        // Converged implies a leader; kept total rather than panicking.
        (Ok(()), _, _) => Err(WorkloadError::UnknownLeader("nobody".into())),
    }
}
