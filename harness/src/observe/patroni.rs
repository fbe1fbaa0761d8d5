//! Polls every member's Patroni REST API (`GET /patroni`) at a fixed rate and records changes.
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::LiveView;
use crate::timeline::{EventKind, MemberView, Role, TimelineWriter};

/// Polls members' REST APIs.
#[derive(Debug, Clone)]
pub struct PatroniObserver {
    /// (member name, base URL of its REST API, `http://127.0.0.1:32771`).
    pub members: Vec<(String, String)>,
    /// Time between polls of one member (100 ms gives the ≥ 10 Hz the checks rely on).
    pub interval: Duration,
    /// Bound for one request: a paused container must not stall the poller.
    pub timeout: Duration,
}

impl PatroniObserver {
    /// An observer polling at 10 Hz with a 400 ms request bound.
    pub fn new(members: Vec<(String, String)>) -> Self {
        Self { members, interval: Duration::from_millis(100), timeout: Duration::from_millis(400) }
    }

    /// Spawns one polling task per member into `tasks`; they stop when `cancel` fires.
    pub fn spawn(&self, tasks: &mut JoinSet<()>, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .no_proxy()
            .build()
            .expect("a plain HTTP client always builds");
        for (member, base) in &self.members {
            let poller = MemberPoller {
                member: member.clone(),
                url: format!("{}/patroni", base.trim_end_matches('/')),
                client: client.clone(),
                interval: self.interval,
            };
            tasks.spawn(poller.run(timeline.clone(), live.clone(), cancel.clone()));
        }
    }
}

struct MemberPoller {
    member: String,
    url: String,
    client: reqwest::Client,
    interval: Duration,
}

impl MemberPoller {
    async fn run(self, timeline: TimelineWriter, live: LiveView, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<(MemberView, u64)> = None;
        let mut identity: Option<String> = None;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let (view, system_identifier) = self.poll().await;
            if system_identifier.is_some() && system_identifier != identity {
                identity = system_identifier;
                let system_identifier = identity.clone().unwrap_or_default();
                timeline.record(EventKind::MemberIdentity { member: self.member.clone(), system_identifier });
            }
            let at = timeline.now();
            live.update(&self.member, view.clone(), at);
            match &mut last {
                Some((previous, seen)) if same_state(previous, &view) => *seen = at,
                _ => {
                    let prev_seen_at = last.as_ref().map(|(_, seen)| *seen);
                    timeline.record(EventKind::Member {
                        member: self.member.clone(),
                        view: view.clone(),
                        prev_seen_at,
                    });
                    last = Some((view, at));
                }
            }
        }
    }

    /// The member's view and, when Patroni reports it, its system identifier.
    async fn poll(&self) -> (MemberView, Option<String>) {
        let response = match self.client.get(&self.url).send().await {
            Ok(r) => r,
            Err(e) => return (unreachable(short_error(&e)), None),
        };
        // Patroni answers 503 on /patroni for some states but still sends the JSON body.
        match response.json::<Value>().await {
            Ok(body) => (parse_patroni_status(&body), system_identifier(&body)),
            Err(e) => (unreachable(format!("bad response: {}", short_error(&e))), None),
        }
    }
}

/// Two views describe the same state (error texts may differ between failed polls).
fn same_state(a: &MemberView, b: &MemberView) -> bool {
    a.reachable == b.reachable
        && a.role == b.role
        && a.state == b.state
        && a.timeline == b.timeline
        && a.sync_standby == b.sync_standby
}

fn unreachable(error: String) -> MemberView {
    MemberView { reachable: false, role: None, state: None, timeline: None, sync_standby: false, error: Some(error) }
}

/// A failed HTTP request in a few words: `timeout`, `connection refused`, or the error's start.
pub(crate) fn short_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".into()
    } else if error.is_connect() {
        "connection refused".into()
    } else {
        let text = error.to_string();
        text.chars().take(80).collect()
    }
}

/// `database_system_identifier` of a `GET /patroni` body (a string; a number is accepted too).
pub fn system_identifier(body: &Value) -> Option<String> {
    match body.get("database_system_identifier")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads Patroni's `GET /patroni` body. Patroni < 4 says `master` for the primary; replicas of
/// Patroni ≥ 3 report `replication_state: streaming` beside `state: running`.
pub fn parse_patroni_status(body: &Value) -> MemberView {
    let role = body.get("role").and_then(Value::as_str).map(|r| match r {
        "primary" | "master" => Role::Primary,
        "replica" | "sync_standby" | "quorum_standby" => Role::Replica,
        "standby_leader" => Role::StandbyLeader,
        _ => Role::Other,
    });
    let mut state = body.get("state").and_then(Value::as_str).map(str::to_string);
    if role == Some(Role::Replica) && state.as_deref() == Some("running") {
        if let Some(replication) = body.get("replication_state").and_then(Value::as_str) {
            state = Some(replication.to_string());
        }
    }
    MemberView {
        reachable: true,
        role,
        state,
        timeline: body.get("timeline").and_then(Value::as_u64),
        sync_standby: body.get("sync_standby").and_then(Value::as_bool).unwrap_or(false),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn primary_of_patroni_4() {
        let view = parse_patroni_status(&json!({"state": "running", "role": "primary", "timeline": 2}));
        assert!(view.is_running_primary());
        assert_eq!(view.timeline, Some(2));
    }

    #[test]
    fn master_of_older_patroni_is_primary() {
        let view = parse_patroni_status(&json!({"state": "running", "role": "master", "timeline": 1}));
        assert_eq!(view.role, Some(Role::Primary));
    }

    #[test]
    fn streaming_replica_uses_replication_state() {
        let view = parse_patroni_status(
            &json!({"state": "running", "role": "replica", "replication_state": "streaming", "timeline": 1}),
        );
        assert_eq!(view.state.as_deref(), Some("streaming"));
        assert!(view.is_healthy_replica());
        assert!(!view.is_running_primary());
    }

    #[test]
    fn system_identifier_is_read_as_patroni_spells_it() {
        let body = json!({"state": "running", "database_system_identifier": "7441962345566380055"});
        assert_eq!(system_identifier(&body).as_deref(), Some("7441962345566380055"));
        assert_eq!(system_identifier(&json!({"database_system_identifier": 12})).as_deref(), Some("12"));
        assert_eq!(system_identifier(&json!({"state": "starting"})), None);
    }

    #[test]
    fn stopped_primary_is_not_running_primary() {
        let view = parse_patroni_status(&json!({"state": "stopped", "role": "primary"}));
        assert!(!view.is_running_primary());
    }
}
