//! Polls Prometheus (`GET /api/v1/alerts`) and Alertmanager (`GET /api/v2/alerts`) on their
//! loopback ports and reports every change of an alert's state, like the Patroni observer does
//! for members: inactive → pending → firing → resolved, per alert instance (its label set).
//!
//! Both APIs list only live alerts, so an instance that disappears has ended: resolved if it was
//! firing, back to inactive if it was only pending. A failed poll changes nothing (the last
//! known states stand until an answer says otherwise). The observer only reads; what to do with
//! a change is the sink's business (the engine records it on the timeline).
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::api::{parse_rfc3339, AlertmanagerApi, PrometheusApi, UnixMillis};

/// Where an alert's state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// Prometheus evaluated the rule (pending and firing).
    Prometheus,
    /// Alertmanager received the firing alert (what notifications are made of).
    Alertmanager,
}

/// The state of one alert instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Not active (never seen, or pending that ended before `for` was reached).
    Inactive,
    /// The expression holds, `for` has not elapsed yet (Prometheus only).
    Pending,
    /// Firing (Prometheus), or received and not resolved (Alertmanager).
    Firing,
    /// Was firing and has ended.
    Resolved,
}

/// One change of one alert instance: the payload of the timeline's alert event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertChange {
    /// The alert's name (`alertname`).
    pub alert: String,
    /// The instance's other labels (from the expression's result and the rule's `labels:`).
    pub labels: BTreeMap<String, String>,
    /// The new state.
    pub state: AlertState,
    /// The state before (`Inactive` for an instance not seen before).
    pub from: AlertState,
    /// Which API said so.
    pub source: AlertSource,
    /// Wall-clock time the source gives for the instance, in Unix ms: for Prometheus when the
    /// expression started to hold (`activeAt`, the start of pending); for Alertmanager when it
    /// started firing (`startsAt`). `None` when not given (or for an ended instance's change,
    /// the last value seen).
    pub active_at: Option<UnixMillis>,
}

/// Receives every change, in the order seen per source.
pub type AlertSink = Arc<dyn Fn(AlertChange) + Send + Sync>;

/// Polls the alert APIs of a run.
#[derive(Debug, Clone)]
pub struct AlertObserver {
    /// Loopback port of Prometheus's API, if it runs.
    pub prometheus_port: Option<u16>,
    /// Loopback port of Alertmanager's API, if it runs.
    pub alertmanager_port: Option<u16>,
    /// Time between two polls of one API (250 ms: a change is seen well within a second of
    /// Prometheus's 1 s evaluations).
    pub interval: Duration,
    /// Bound of one request: a stalled API must not stall the poller.
    pub timeout: Duration,
}

impl AlertObserver {
    /// An observer polling every 250 ms with a 1 s request bound.
    pub fn new(prometheus_port: Option<u16>, alertmanager_port: Option<u16>) -> Self {
        Self {
            prometheus_port,
            alertmanager_port,
            interval: Duration::from_millis(250),
            timeout: Duration::from_secs(1),
        }
    }

    /// Spawns one polling task per API into `tasks`; they stop when `cancel` fires.
    pub fn spawn(&self, tasks: &mut JoinSet<()>, sink: AlertSink, cancel: CancellationToken) {
        if let Some(port) = self.prometheus_port {
            let api = PrometheusApi::new(port, self.timeout);
            let poll = move || {
                let api = api.clone();
                async move {
                    let alerts = api.alerts().await.ok()?;
                    Some(
                        alerts
                            .into_iter()
                            .filter_map(|a| {
                                let state = match a.state.as_str() {
                                    "pending" => AlertState::Pending,
                                    "firing" => AlertState::Firing,
                                    _ => return None,
                                };
                                Some((a.labels, state, a.active_at.as_deref().and_then(parse_rfc3339)))
                            })
                            .collect::<Vec<_>>(),
                    )
                }
            };
            tasks.spawn(poll_loop(AlertSource::Prometheus, self.interval, poll, sink.clone(), cancel.clone()));
        }
        if let Some(port) = self.alertmanager_port {
            let api = AlertmanagerApi::new(port, self.timeout);
            let poll = move || {
                let api = api.clone();
                async move {
                    let alerts = api.alerts().await.ok()?;
                    Some(
                        alerts
                            .into_iter()
                            .map(|a| (a.labels, AlertState::Firing, a.starts_at.as_deref().and_then(parse_rfc3339)))
                            .collect::<Vec<_>>(),
                    )
                }
            };
            tasks.spawn(poll_loop(AlertSource::Alertmanager, self.interval, poll, sink, cancel));
        }
    }
}

/// (labels with `alertname`, state, active_at) of one live instance.
type Observed = (BTreeMap<String, String>, AlertState, Option<UnixMillis>);

async fn poll_loop<F, Fut>(source: AlertSource, interval: Duration, poll: F, sink: AlertSink, cancel: CancellationToken)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<Vec<Observed>>>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known = Known::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let observed = tokio::select! {
            _ = cancel.cancelled() => return,
            observed = poll() => observed,
        };
        // An unanswered poll says nothing about the alerts.
        let Some(observed) = observed else { continue };
        for change in known.update(source, observed) {
            sink(change);
        }
    }
}

/// The live instances last seen from one source.
#[derive(Debug, Default)]
pub(crate) struct Known {
    live: BTreeMap<BTreeMap<String, String>, (AlertState, Option<UnixMillis>)>,
}

impl Known {
    /// Replaces the live set with `observed`, returning the changes (appeared or changed state
    /// first, in label order, then ended ones).
    pub(crate) fn update(&mut self, source: AlertSource, observed: Vec<Observed>) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        let mut next = BTreeMap::new();
        for (labels, state, active_at) in observed {
            let from = self.live.get(&labels).map_or(AlertState::Inactive, |(s, _)| *s);
            // A new activeAt while pending/firing means it ended and started again between
            // two polls: report the end, then the new start.
            let restarted =
                self.live.get(&labels).is_some_and(|(_, at)| at.is_some() && active_at.is_some() && *at != active_at);
            if restarted {
                let ended = if from == AlertState::Firing { AlertState::Resolved } else { AlertState::Inactive };
                changes.push(change(source, &labels, ended, from, self.live[&labels].1));
                changes.push(change(source, &labels, state, ended, active_at));
            } else if from != state {
                changes.push(change(source, &labels, state, from, active_at));
            }
            next.insert(labels, (state, active_at));
        }
        for (labels, (state, active_at)) in &self.live {
            if !next.contains_key(labels) {
                let ended = if *state == AlertState::Firing { AlertState::Resolved } else { AlertState::Inactive };
                changes.push(change(source, labels, ended, *state, *active_at));
            }
        }
        self.live = next;
        changes
    }
}

fn change(
    source: AlertSource,
    labels: &BTreeMap<String, String>,
    state: AlertState,
    from: AlertState,
    active_at: Option<UnixMillis>,
) -> AlertChange {
    let mut labels = labels.clone();
    let alert = labels.remove("alertname").unwrap_or_default();
    AlertChange { alert, labels, state, from, source, active_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(name: &str, pod: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("alertname".to_string(), name.to_string()), ("pod".to_string(), pod.to_string())])
    }

    fn states(changes: &[AlertChange]) -> Vec<String> {
        changes.iter().map(|c| format!("{} {}: {:?}->{:?}", c.alert, c.labels["pod"], c.from, c.state)).collect()
    }

    #[test]
    fn prometheus_lifecycle() {
        let mut known = Known::default();
        let p = AlertSource::Prometheus;
        assert!(known.update(p, vec![]).is_empty());
        let a = labels("FailoverDetected", "pg-2");
        let changes = known.update(p, vec![(a.clone(), AlertState::Pending, Some(1000))]);
        assert_eq!(states(&changes), ["FailoverDetected pg-2: Inactive->Pending"]);
        assert_eq!(changes[0].active_at, Some(1000));
        assert!(!changes[0].labels.contains_key("alertname"));
        assert!(known.update(p, vec![(a.clone(), AlertState::Pending, Some(1000))]).is_empty(), "no change, no event");
        let changes = known.update(p, vec![(a.clone(), AlertState::Firing, Some(1000))]);
        assert_eq!(states(&changes), ["FailoverDetected pg-2: Pending->Firing"]);
        let changes = known.update(p, vec![]);
        assert_eq!(states(&changes), ["FailoverDetected pg-2: Firing->Resolved"]);
        assert_eq!(changes[0].active_at, Some(1000));
    }

    #[test]
    fn pending_that_ends_goes_back_to_inactive() {
        let mut known = Known::default();
        let a = labels("PostgreSQLDown", "pg-1");
        known.update(AlertSource::Prometheus, vec![(a, AlertState::Pending, Some(5))]);
        let changes = known.update(AlertSource::Prometheus, vec![]);
        assert_eq!(states(&changes), ["PostgreSQLDown pg-1: Pending->Inactive"]);
    }

    #[test]
    fn instances_are_told_apart_by_labels() {
        let mut known = Known::default();
        let one = labels("PatroniUnreachable", "pg-1");
        let two = labels("PatroniUnreachable", "pg-2");
        known.update(AlertSource::Prometheus, vec![(one.clone(), AlertState::Firing, Some(1))]);
        let changes = known.update(
            AlertSource::Prometheus,
            vec![(one, AlertState::Firing, Some(1)), (two, AlertState::Pending, Some(2))],
        );
        assert_eq!(states(&changes), ["PatroniUnreachable pg-2: Inactive->Pending"]);
    }

    #[test]
    fn a_restart_between_polls_is_reported_as_end_and_start() {
        let mut known = Known::default();
        let a = labels("FailoverDetected", "pg-2");
        known.update(AlertSource::Prometheus, vec![(a.clone(), AlertState::Firing, Some(1000))]);
        let changes = known.update(AlertSource::Prometheus, vec![(a, AlertState::Pending, Some(9000))]);
        assert_eq!(
            states(&changes),
            ["FailoverDetected pg-2: Firing->Resolved", "FailoverDetected pg-2: Resolved->Pending"]
        );
    }

    #[test]
    fn alertmanager_reports_received_and_resolved() {
        let mut known = Known::default();
        let am = AlertSource::Alertmanager;
        let a = labels("FailoverDetected", "pg-2");
        let changes = known.update(am, vec![(a, AlertState::Firing, Some(7000))]);
        assert_eq!(states(&changes), ["FailoverDetected pg-2: Inactive->Firing"]);
        assert_eq!(changes[0].source, AlertSource::Alertmanager);
        assert_eq!(states(&known.update(am, vec![])), ["FailoverDetected pg-2: Firing->Resolved"]);
    }
}
