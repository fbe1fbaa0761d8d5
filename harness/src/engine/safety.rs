//! The safety rails of an attached run: a stop signal that the steps check at every wait, and a
//! watch that fires it when a stop condition of the cluster file holds (writes failing for too
//! long, too many members down, a replica lagging more than `max_replication_lag` behind its
//! leader by Patroni's `GET /cluster`, an alert of `stop_on_alerts` firing) or a signal arrives.
//! What fired is recorded on the timeline and in the audit log; the step driver then undoes
//! every active fault.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attach::AlertsFrom;
use crate::cluster::{ByteSize, Safety};
use crate::fault::ActionLog;
use crate::observe::LiveView;
use crate::timeline::{EventKind, MemberView, Millis, TimelineWriter, WriteOutcome};
use crate::workload::{read_cluster, DcsView};

/// How often the watch looks at writes and members.
const EVERY: Duration = Duration::from_millis(100);
/// How often it reads the replication lag and the alerts (each one HTTP request, bounded by
/// [`READ_WITHIN`]).
const READ_EVERY: Duration = Duration::from_secs(1);
/// How long a member must be seen down before it counts: one REST poll that times out (400 ms,
/// a loaded host, Patroni busy in its HA loop) is not a member down.
const DOWN_FOR: Millis = 1_000;
/// Bound on one read of `GET /cluster` or of the alerts.
const READ_WITHIN: Duration = Duration::from_secs(2);

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

/// Members seen down (by [`is_down`]) continuously for at least [`DOWN_FOR`] at `now`;
/// `down_since` keeps, per member, when its current down stretch began.
fn down_members(
    members: &[String],
    views: &BTreeMap<String, (MemberView, Millis)>,
    down_since: &mut BTreeMap<String, Millis>,
    now: Millis,
) -> Vec<String> {
    for member in members {
        match views.get(member) {
            Some((view, _)) if is_down(view) => {
                down_since.entry(member.clone()).or_insert(now);
            }
            _ => {
                down_since.remove(member);
            }
        }
    }
    members
        .iter()
        .filter(|m| down_since.get(*m).is_some_and(|since| now.saturating_sub(*since) >= DOWN_FOR))
        .cloned()
        .collect()
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
    /// (member, Patroni REST URL) of every member, for `GET /cluster` (the lag).
    pub rest: Vec<(String, String)>,
    /// Where the alerts of `safety.stop_on_alerts` are read.
    pub alerts_from: Option<AlertsFrom>,
    /// Patroni's name → the run's, for members the cluster file drills under another name
    /// (`GET /cluster` names members as Patroni does).
    pub patroni_names: BTreeMap<String, String>,
}

impl Watch {
    /// Spawns the watch into `tasks`; it ends with `cancel` or once it fired.
    pub fn spawn(self, tasks: &mut JoinSet<()>, cancel: CancellationToken) {
        let rails = Rail {
            stop: self.stop.clone(),
            log: self.log.clone(),
            timeline: self.timeline.clone(),
            cancel: cancel.clone(),
        };
        if let Some(bound) = self.safety.max_replication_lag.as_ref().map(|l| l.value) {
            tasks.spawn(watch_lag(bound, groups_of(&self.rest), self.patroni_names.clone(), rails.clone()));
        }
        let names = self.safety.alert_names();
        if let (false, Some(from)) = (names.is_empty(), self.alerts_from.clone()) {
            tasks.spawn(watch_alerts(names, from, rails));
        }
        tasks.spawn(self.run(cancel));
    }

    async fn run(self, cancel: CancellationToken) {
        let Watch { safety, members, timeline, live, stop, log, signal, .. } = self;
        let budget = safety.failed_writes_for.0.as_millis() as Millis;
        let mut failing_since: Option<Millis> = None;
        let mut down_since = BTreeMap::new();
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
            let down = down_members(&members, &live.snapshot(), &mut down_since, now);
            if down.len() > safety.max_members_down {
                let names: Vec<&str> = down.iter().map(|m| m.as_str()).collect();
                let reason = format!(
                    "{} members are down at once ({}, each for at least {}s), more than safety.max_members_down: {}",
                    down.len(),
                    names.join(", "),
                    DOWN_FOR / 1000,
                    safety.max_members_down
                );
                fire(&stop, &log, &timeline, reason);
                return;
            }
        }
    }
}

/// What a watch task needs to fire the stop, and when to end.
#[derive(Clone)]
struct Rail {
    stop: StopSignal,
    log: ActionLog,
    timeline: TimelineWriter,
    cancel: CancellationToken,
}

impl Rail {
    /// Waits `READ_EVERY`; false once the run ended or the stop fired.
    async fn tick(&self) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            _ = self.stop.wait() => false,
            () = tokio::time::sleep(READ_EVERY) => true,
        }
    }

    fn fire(&self, reason: String) {
        fire(&self.stop, &self.log, &self.timeline, reason);
    }

    /// Records once (until `clear`) that a condition cannot be read: the run goes on, but the
    /// reader of the report and the audit log learns the condition was blind.
    fn blind(&self, said: &mut bool, what: &str, why: &str) {
        if !*said {
            *said = true;
            self.log.record("stop-condition-unreadable", "cluster", what, why);
            self.timeline.record(EventKind::Note {
                source: "safety".into(),
                text: format!("{what} cannot be read, not watched until it can: {why}"),
            });
        }
    }
}

/// The members by Citus group (one group for plain Patroni): each group is one Patroni cluster
/// with its own `GET /cluster`.
fn groups_of(rest: &[(String, String)]) -> Vec<Vec<(String, String)>> {
    let mut groups: BTreeMap<Option<u32>, Vec<(String, String)>> = BTreeMap::new();
    for (member, url) in rest {
        groups.entry(crate::topology::member_group(member)).or_default().push((member.clone(), url.clone()));
    }
    groups.into_values().collect()
}

/// The replica furthest behind its leader in a `GET /cluster` answer, as (member, WAL bytes);
/// members whose lag Patroni does not know (`unknown`: not replicating) are left out — the
/// members-down condition covers those.
pub fn worst_lag(view: &DcsView) -> Option<(String, u64)> {
    view.members
        .iter()
        .filter(|m| m.role != "leader")
        .filter_map(|m| Some((m.name.clone(), m.lag?)))
        .max_by_key(|(_, lag)| *lag)
}

/// Polls each group's `GET /cluster` (the first member that answers) and fires when a replica
/// lags more than `bound`.
async fn watch_lag(
    bound: ByteSize,
    groups: Vec<Vec<(String, String)>>,
    patroni_names: BTreeMap<String, String>,
    rail: Rail,
) {
    let Ok(client) = reqwest::Client::builder().timeout(READ_WITHIN).no_proxy().build() else { return };
    let mut said = false;
    while rail.tick().await {
        for group in &groups {
            match read_cluster(&client, group).await {
                Ok(view) => {
                    said = false;
                    let view = view.renamed(&patroni_names);
                    if let Some((member, lag)) = worst_lag(&view).filter(|(_, lag)| *lag > bound.0) {
                        rail.fire(format!(
                            "{member} is {} behind its leader (Patroni's GET /cluster lag), more than \
                             safety.max_replication_lag: {bound}",
                            ByteSize(lag)
                        ));
                        return;
                    }
                }
                Err(why) => rail.blind(&mut said, "the replication lag (GET /cluster)", &why),
            }
        }
    }
}

/// The first of `wanted` among the names of the alerts firing now.
pub fn named_firing<'a>(wanted: &'a [String], firing: &[String]) -> Option<&'a str> {
    wanted.iter().find(|w| firing.contains(w)).map(String::as_str)
}

/// The names of the alerts firing now: Prometheus's in state `firing`, or Alertmanager's
/// `active` ones (not silenced or inhibited).
async fn firing_alerts(from: &AlertsFrom) -> Result<Vec<String>, String> {
    let name = |labels: &BTreeMap<String, String>| labels.get("alertname").cloned().unwrap_or_default();
    match from {
        AlertsFrom::Prometheus(url) => {
            let alerts = crate::monitoring::api::PrometheusApi::at(url, READ_WITHIN).alerts().await;
            let alerts = alerts.map_err(|e| e.to_string())?;
            Ok(alerts.iter().filter(|a| a.state == "firing").map(|a| name(&a.labels)).collect())
        }
        AlertsFrom::Alertmanager(url) => {
            let alerts = crate::monitoring::api::AlertmanagerApi::at(url, READ_WITHIN).alerts().await;
            let alerts = alerts.map_err(|e| e.to_string())?;
            Ok(alerts.iter().filter(|a| a.status.state == "active").map(|a| name(&a.labels)).collect())
        }
    }
}

/// Polls the alerts and fires when one of `names` fires.
async fn watch_alerts(names: Vec<String>, from: AlertsFrom, rail: Rail) {
    let (what, url) = match &from {
        AlertsFrom::Prometheus(url) => ("Prometheus", url.clone()),
        AlertsFrom::Alertmanager(url) => ("Alertmanager", url.clone()),
    };
    let mut said = false;
    while rail.tick().await {
        match firing_alerts(&from).await {
            Ok(firing) => {
                said = false;
                if let Some(name) = named_firing(&names, &firing) {
                    rail.fire(format!("alert {name} is firing ({what} at {url}; safety.stop_on_alerts)"));
                    return;
                }
            }
            Err(why) => rail.blind(&mut said, &format!("the alerts ({what} at {url})"), &why),
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
    fn the_worst_lag_is_the_largest_known_one_of_a_replica() {
        let view = |body: serde_json::Value| DcsView::parse("pg-1", &body);
        let body = serde_json::json!({"members": [
            {"name": "pg-1", "role": "leader", "state": "running", "lag": 0},
            {"name": "pg-2", "role": "replica", "state": "streaming", "lag": 4096},
            {"name": "pg-3", "role": "sync_standby", "state": "streaming", "lag": 70_000_000u64},
            {"name": "pg-4", "role": "replica", "state": "stopped", "lag": "unknown"},
        ]});
        assert_eq!(worst_lag(&view(body)), Some(("pg-3".to_string(), 70_000_000)));
        let quiet = serde_json::json!({"members": [{"name": "pg-1", "role": "leader"}, {"name": "pg-2", "role": "replica", "lag": "unknown"}]});
        assert_eq!(worst_lag(&view(quiet)), None);
        assert_eq!(worst_lag(&view(serde_json::json!({"error": "x"}))), None);
    }

    #[test]
    fn a_named_alert_stops_only_when_it_fires() {
        let wanted = vec!["PostgreSQLDown".to_string(), "HighReplicationLag".to_string()];
        assert_eq!(named_firing(&wanted, &["Watchdog".into()]), None);
        assert_eq!(
            named_firing(&wanted, &["Watchdog".into(), "HighReplicationLag".into()]),
            Some("HighReplicationLag")
        );
        assert_eq!(named_firing(&[], &["PostgreSQLDown".into()]), None);
    }

    #[test]
    fn members_are_grouped_by_citus_group() {
        let rest =
            |names: &[&str]| names.iter().map(|n| (n.to_string(), format!("http://{n}:8008"))).collect::<Vec<_>>();
        assert_eq!(groups_of(&rest(&["pg-1", "pg-2"])).len(), 1);
        let groups = groups_of(&rest(&["coord-1", "worker1-1", "worker1-2"]));
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn a_member_counts_as_down_only_after_a_second_down() {
        let up = MemberView {
            reachable: true,
            role: None,
            state: Some("running".into()),
            timeline: Some(1),
            sync_standby: false,
            error: None,
        };
        let gone = MemberView { reachable: false, ..up.clone() };
        let members = vec!["pg-1".to_string(), "pg-2".to_string()];
        let views = |a: &MemberView, b: &MemberView| {
            BTreeMap::from([("pg-1".to_string(), (a.clone(), 0)), ("pg-2".to_string(), (b.clone(), 0))])
        };
        let mut since = BTreeMap::new();
        // One poll timing out, then answering again: never down.
        assert!(down_members(&members, &views(&up, &gone), &mut since, 10_000).is_empty());
        assert!(down_members(&members, &views(&up, &up), &mut since, 10_100).is_empty());
        assert!(down_members(&members, &views(&up, &gone), &mut since, 10_200).is_empty());
        assert!(down_members(&members, &views(&up, &gone), &mut since, 11_100).is_empty(), "0.9 s");
        assert_eq!(down_members(&members, &views(&up, &gone), &mut since, 11_200), ["pg-2"]);
        assert_eq!(down_members(&members, &views(&gone, &gone), &mut since, 12_300), ["pg-2"], "pg-1 just went");
        assert_eq!(down_members(&members, &views(&gone, &gone), &mut since, 13_300), ["pg-1", "pg-2"]);
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
