//! What the DCS says about a Patroni cluster, as any member's `GET /cluster` reports it: who
//! holds the leader key and how every member replicates.
use serde_json::Value;

/// One member as `GET /cluster` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsMember {
    /// Member name.
    pub name: String,
    /// `leader`, `replica`, `sync_standby`, `quorum_standby`, `standby_leader`.
    pub role: String,
    /// `running`, `streaming`, `starting`, `stopped`, ...
    pub state: String,
    /// Bytes behind the leader (`lag`; `None` when Patroni says `unknown` or gives none).
    pub lag: Option<u64>,
}

/// One answer of `GET /cluster`, and which member gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcsView {
    /// The member whose REST API answered.
    pub asked: String,
    /// Every member the DCS lists.
    pub members: Vec<DcsMember>,
    /// Maintenance mode (`pause: true`).
    pub paused: bool,
}

impl DcsView {
    /// Reads a `GET /cluster` body.
    pub fn parse(asked: &str, body: &Value) -> Self {
        let text = |m: &Value, key: &str| m.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let members = body
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| DcsMember {
                name: text(m, "name"),
                role: text(m, "role"),
                state: text(m, "state"),
                lag: m.get("lag").and_then(Value::as_u64),
            })
            .collect();
        let paused = body.get("pause").and_then(Value::as_bool).unwrap_or(false);
        Self { asked: asked.to_string(), members, paused }
    }

    /// The same view with members named as the run names them: `patroni_names` maps Patroni's
    /// name to the run's (an attached cluster's `as`); names it lacks stay.
    pub fn renamed(mut self, patroni_names: &std::collections::BTreeMap<String, String>) -> Self {
        for member in &mut self.members {
            if let Some(drilled) = patroni_names.get(&member.name) {
                member.name = drilled.clone();
            }
        }
        self
    }

    /// The member holding the leader key while running as primary.
    pub fn leader(&self) -> Option<&str> {
        let mut leaders = self.members.iter().filter(|m| m.role == "leader" && m.state == "running");
        match (leaders.next(), leaders.next()) {
            (Some(leader), None) => Some(&leader.name),
            _ => None,
        }
    }

    /// A running leader and every one of `expected` listed, the others as streaming replicas.
    pub fn converged(&self, expected: &[String]) -> bool {
        let Some(leader) = self.leader() else { return false };
        expected.iter().all(|name| {
            self.members.iter().any(|m| {
                &m.name == name
                    && (m.name == leader
                        || (matches!(m.role.as_str(), "replica" | "sync_standby" | "quorum_standby")
                            && m.state == "streaming"))
            })
        })
    }

    /// The members in a few words: `pg-1 leader running, pg-2 replica streaming, pg-3 absent`.
    pub fn describe(&self, expected: &[String]) -> String {
        let mut parts: Vec<String> =
            self.members.iter().map(|m| format!("{} {} {}", m.name, m.role, m.state)).collect();
        parts.extend(
            expected.iter().filter(|e| !self.members.iter().any(|m| &m.name == *e)).map(|e| format!("{e} absent")),
        );
        format!("GET /cluster on {}: {}", self.asked, parts.join(", "))
    }
}

/// Asks each member's REST API in turn for `GET /cluster`; the first answer counts.
pub async fn read_cluster(client: &reqwest::Client, members: &[(String, String)]) -> Result<DcsView, String> {
    let mut errors = Vec::new();
    for (name, base) in members {
        let url = format!("{}/cluster", base.trim_end_matches('/'));
        let answer = match client.get(&url).send().await {
            Ok(response) => response.json::<Value>().await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(body) => return Ok(DcsView::parse(name, &body)),
            Err(e) => errors.push(format!("{name}: {}", crate::observe::short_error(&e))),
        }
    }
    Err(format!("no member answered GET /cluster ({})", errors.join(", ")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names() -> Vec<String> {
        ["pg-1", "pg-2", "pg-3"].map(String::from).to_vec()
    }

    fn view(members: Value) -> DcsView {
        DcsView::parse("pg-1", &json!({ "members": members, "scope": "pgdrill" }))
    }

    #[test]
    fn a_running_leader_and_streaming_replicas_have_converged() {
        let v = view(json!([
            {"name": "pg-1", "role": "replica", "state": "streaming", "timeline": 2},
            {"name": "pg-2", "role": "leader", "state": "running", "timeline": 2},
            {"name": "pg-3", "role": "sync_standby", "state": "streaming", "timeline": 2},
        ]));
        assert_eq!(v.leader(), Some("pg-2"));
        assert!(v.converged(&names()));
    }

    #[test]
    fn a_rejoining_or_absent_member_has_not_converged() {
        let v = view(json!([
            {"name": "pg-1", "role": "replica", "state": "starting"},
            {"name": "pg-2", "role": "leader", "state": "running"},
        ]));
        assert_eq!(v.leader(), Some("pg-2"));
        assert!(!v.converged(&names()));
        assert_eq!(
            v.describe(&names()),
            "GET /cluster on pg-1: pg-1 replica starting, pg-2 leader running, pg-3 absent"
        );
    }

    #[test]
    fn no_running_leader_is_no_leader() {
        let v = view(json!([{"name": "pg-2", "role": "leader", "state": "stopped"}]));
        assert_eq!(v.leader(), None);
        assert!(!v.converged(&["pg-2".to_string()]));
        assert_eq!(DcsView::parse("pg-1", &json!({})).leader(), None);
    }
}
