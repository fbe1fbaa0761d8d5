//! The safety rails of an attached run: a stop signal that the steps check at every wait, and a
//! watch that fires it when a stop condition of the cluster file holds (writes failing for too
//! long, too many members down) or a signal arrives. What fired is recorded on the timeline and
//! in the audit log; the step driver then undoes every active fault.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cluster::Safety;
use crate::fault::ActionLog;
use crate::observe::LiveView;
use crate::timeline::{EventKind, MemberView, Millis, TimelineWriter, WriteOutcome};

/// How often the watch looks.
const EVERY: Duration = Duration::from_millis(100);

/// Fired once, with the first reason.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl StopSignal {
    /// Fires with `reason` (the first reason wins).
    pub fn fire(&self, reason: String) {
        let mut slot = self.reason.lock().expect("stop reason lock");
        if slot.is_none() {
            *slot = Some(reason);
        }
        self.token.cancel();
    }

    /// Why it fired, if it did.
    pub fn fired(&self) -> Option<String> {
        self.reason.lock().expect("stop reason lock").clone()
    }

    /// Resolves once it fires, with the reason.
    pub async fn wait(&self) -> String {
        self.token.cancelled().await;
        self.fired().unwrap_or_default()
    }
}

/// Whether Patroni's view says the member is down: its REST API does not answer, or PostgreSQL
/// is not running under it.
fn is_down(view: &MemberView) -> bool {
    !view.reachable || matches!(view.state.as_deref(), Some("stopped" | "crashed" | "start failed" | "stopping"))
}

/// The write outcome state: when the latest acknowledged and the latest failed write ended.
fn write_state(timeline: &TimelineWriter) -> (Option<Millis>, Option<(Millis, String)>) {
    let last_ok = timeline
        .latest(|k| matches!(k, EventKind::Write { outcome: WriteOutcome::Acked { .. }, .. }).then_some(()))
        .map(|(at, ())| at);
    let last_failed = timeline.latest(|k| match k {
        EventKind::Write { outcome: WriteOutcome::Failed { error, .. }, .. } => Some(error.clone()),
        _ => None,
    });
    (last_ok, last_failed)
}

/// What the stop watch looks at and whom it tells.
pub struct Watch {
    /// The conditions.
    pub safety: Safety,
    /// The members counted when they are down.
    pub members: Vec<String>,
    /// Where writes are seen (and the stop recorded).
    pub timeline: TimelineWriter,
    /// Patroni's latest view of each member.
    pub live: LiveView,
    /// Fired when a condition holds.
    pub stop: StopSignal,
    /// The run's audit log.
    pub log: ActionLog,
    /// Ctrl-C / SIGTERM: also a stop.
    pub signal: CancellationToken,
}

impl Watch {
    /// Spawns the watch into `tasks`; it ends with `cancel` or once it fired.
    pub fn spawn(self, tasks: &mut JoinSet<()>, cancel: CancellationToken) {
        tasks.spawn(self.run(cancel));
    }

    async fn run(self, cancel: CancellationToken) {
        let Watch { safety, members, timeline, live, stop, log, signal } = self;
        let budget = safety.failed_writes_for.0.as_millis() as Millis;
        let mut failing_since: Option<Millis> = None;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = signal.cancelled() => {
                    fire(&stop, &log, &timeline, "a signal (Ctrl-C or SIGTERM)".into());
                    return;
                }
                () = tokio::time::sleep(EVERY) => {}
            }
            let now = timeline.now();
            let (last_ok, last_failed) = write_state(&timeline);
            match (&last_failed, last_ok) {
                (Some((failed_at, _)), ok) if ok.is_none_or(|ok| ok < *failed_at) => {
                    // No write acknowledged since `since`, and writes failing.
                    let since = *failing_since.get_or_insert(ok.unwrap_or(*failed_at));
                    if now.saturating_sub(since) >= budget {
                        let error = last_failed.as_ref().map(|(_, e)| e.as_str()).unwrap_or_default();
                        let reason = format!(
                            "writes have failed for {:.1}s without one acknowledged (safety.failed_writes_for: {}); \
                             last error: {error}",
                            now.saturating_sub(since) as f64 / 1000.0,
                            humantime::format_duration(safety.failed_writes_for.0)
                        );
                        fire(&stop, &log, &timeline, reason);
                        return;
                    }
                }
                _ => failing_since = None,
            }
            let snapshot = live.snapshot();
            let down: Vec<&String> =
                members.iter().filter(|m| snapshot.get(*m).is_some_and(|(view, _)| is_down(view))).collect();
            if down.len() > safety.max_members_down {
                let names: Vec<&str> = down.iter().map(|m| m.as_str()).collect();
                let reason = format!(
                    "{} members are down at once ({}), more than safety.max_members_down: {}",
                    down.len(),
                    names.join(", "),
                    safety.max_members_down
                );
                fire(&stop, &log, &timeline, reason);
                return;
            }
        }
    }
}

fn fire(stop: &StopSignal, log: &ActionLog, timeline: &TimelineWriter, reason: String) {
    log.record("stop-condition", "cluster", "", &reason);
    timeline.record(EventKind::Note { source: "safety".into(), text: format!("stop condition: {reason}") });
    stop.fire(reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_wins_and_waiters_wake() {
        let stop = StopSignal::default();
        assert!(stop.fired().is_none());
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        stop.fire("writes failing".into());
        stop.fire("members down".into());
        assert_eq!(waiter.await.unwrap(), "writes failing");
        assert_eq!(stop.fired().as_deref(), Some("writes failing"));
    }

    #[test]
    fn an_unreachable_or_stopped_member_is_down() {
        let up = MemberView {
            reachable: true,
            role: None,
            state: Some("streaming".into()),
            timeline: Some(1),
            sync_standby: false,
            error: None,
        };
        assert!(!is_down(&up));
        assert!(is_down(&MemberView { reachable: false, ..up.clone() }));
        assert!(is_down(&MemberView { state: Some("stopped".into()), ..up }));
    }
}
