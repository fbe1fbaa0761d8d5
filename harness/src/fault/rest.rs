//! Faults through Patroni's REST API: planned switchover, manual failover, maintenance mode,
//! restart and reinitialization of a member, and the member's own status (`GET /patroni`).
//! Patroni asks for Basic auth on unsafe methods (POST, PUT, PATCH, DELETE) when
//! `restapi.authentication` is set, as pgdrill's clusters have it; GETs need none.
use std::time::Duration;

use serde_json::{json, Value};
use thiserror::Error;

use crate::topology::Secret;

/// A Patroni REST call that failed.
#[derive(Debug, Error)]
pub enum RestError {
    /// The request did not get an answer.
    #[error("failed to call Patroni's {path}: {source}")]
    Request {
        /// The endpoint.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Patroni answered, but refused.
    #[error("{what} refused by Patroni (HTTP {status}): {text}")]
    Refused {
        /// The action, e.g. "switchover".
        what: &'static str,
        /// HTTP status.
        status: u16,
        /// Patroni's answer.
        text: String,
    },
    /// The answer was not the JSON Patroni documents.
    #[error("failed to read Patroni's answer to {path}: {source}")]
    Answer {
        /// The endpoint.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// The user and password Patroni's REST API asks of unsafe methods (`restapi.authentication`).
#[derive(Debug, Clone)]
pub struct RestAuth {
    user: String,
    password: Secret,
}

impl RestAuth {
    /// Credentials for `user` with `password`.
    pub fn new(user: &str, password: Secret) -> Self {
        Self { user: user.to_string(), password }
    }
}

/// A Patroni REST client for one member's published port.
#[derive(Debug, Clone)]
pub struct PatroniApi {
    client: reqwest::Client,
    base: String,
    auth: RestAuth,
    /// Attached runs: every unsafe call goes to the run's audit log, with the member's name.
    log: Option<(super::ActionLog, String)>,
    /// Patroni's name of each member the run calls otherwise (a cluster file's `as`); others
    /// are sent as they are.
    patroni_names: std::collections::BTreeMap<String, String>,
}

impl PatroniApi {
    /// A client for `http://127.0.0.1:port` that sends `auth` with unsafe methods.
    pub fn on_port(port: u16, auth: RestAuth) -> Self {
        Self::new(&format!("http://127.0.0.1:{port}"), auth)
    }

    /// A client for the REST API at `base` (`http://host:8008`) that sends `auth` with unsafe
    /// methods. Switchovers answer only once done, so the bound is long.
    pub fn new(base: &str, auth: RestAuth) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            auth,
            log: None,
            patroni_names: Default::default(),
        }
    }

    /// The same client, recording every unsafe call of `member` in `log`.
    pub fn logged(mut self, log: super::ActionLog, member: &str) -> Self {
        self.log = Some((log, member.to_string()));
        self
    }

    /// The same client, naming members to Patroni by `patroni_names` (the run's name → Patroni's)
    /// in switchover and failover requests.
    pub fn naming(mut self, patroni_names: std::collections::BTreeMap<String, String>) -> Self {
        self.patroni_names = patroni_names;
        self
    }

    /// Patroni's name for the run's `member`.
    fn patroni_name<'a>(&'a self, member: &'a str) -> &'a str {
        self.patroni_names.get(member).map_or(member, String::as_str)
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Result<(u16, String), RestError> {
        let answer = self.send_unlogged(method.clone(), path, &body).await;
        if let Some((log, member)) = &self.log {
            let result = match &answer {
                Ok((status, text)) => format!("HTTP {status}: {text}"),
                Err(e) => format!("failed: {e}"),
            };
            log.record(&format!("{method} {path}"), member, &format!("{method} {}{path} {body}", self.base), &result);
        }
        answer
    }

    async fn send_unlogged(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<(u16, String), RestError> {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.auth.user, Some(self.auth.password.expose()))
            .json(body)
            .send()
            .await
            .map_err(|source| RestError::Request { path: path.to_string(), source })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, text.trim().to_string()))
    }

    /// `POST /switchover`: planned, from `leader` to `candidate` (any healthy member when
    /// `None`), optionally at `scheduled_at` (RFC 3339).
    pub async fn switchover(
        &self,
        leader: &str,
        candidate: Option<&str>,
        scheduled_at: Option<&str>,
    ) -> Result<String, RestError> {
        let mut body = json!({ "leader": self.patroni_name(leader) });
        if let Some(c) = candidate {
            body["candidate"] = json!(self.patroni_name(c));
        }
        if let Some(at) = scheduled_at {
            body["scheduled_at"] = json!(at);
        }
        expect_success("switchover", self.send(reqwest::Method::POST, "/switchover", body).await?)
    }

    /// `POST /failover` to `candidate` (works without a healthy leader).
    pub async fn failover(&self, candidate: &str) -> Result<String, RestError> {
        expect_success(
            "failover",
            self.send(reqwest::Method::POST, "/failover", json!({ "candidate": self.patroni_name(candidate) })).await?,
        )
    }

    /// `PATCH /config` with `pause`: maintenance mode on or off.
    pub async fn set_paused(&self, paused: bool) -> Result<String, RestError> {
        expect_success(
            "maintenance mode",
            self.send(reqwest::Method::PATCH, "/config", json!({ "pause": paused })).await?,
        )
    }

    /// `POST /restart` without a schedule: Patroni stops and starts PostgreSQL in place and
    /// answers once it is up again (200 "restarted successfully"); 503 when it failed or is
    /// still starting, 400 for an exception. `timeout` (seconds) is Patroni's bound on the
    /// start, after which a leader gives its lock up.
    pub async fn restart(&self, timeout: Option<u64>) -> Result<String, RestError> {
        let mut body = json!({});
        if let Some(t) = timeout {
            body["timeout"] = json!(t);
        }
        expect_success("restart", self.send(reqwest::Method::POST, "/restart", body).await?)
    }

    /// `POST /reinitialize`: Patroni stops the replica, wipes its data directory and clones it
    /// again (`from_leader`: from the leader rather than any replica; `force`: cancel a task
    /// Patroni is running). 200 "reinitialize started" answers at once; 503 names why not ("I
    /// am the leader, can not reinitialize", "Cluster has no leader…", "… already in progress").
    pub async fn reinitialize(&self, force: bool, from_leader: bool) -> Result<String, RestError> {
        let body = json!({ "force": force, "from_leader": from_leader });
        expect_success("reinitialize", self.send(reqwest::Method::POST, "/reinitialize", body).await?)
    }

    /// `GET /patroni`: the member's own view of itself.
    pub async fn status(&self) -> Result<MemberStatus, RestError> {
        let path = "/patroni";
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|source| RestError::Request { path: path.into(), source })?;
        let body: Value = response.json().await.map_err(|source| RestError::Answer { path: path.into(), source })?;
        Ok(MemberStatus::from_json(&body))
    }

    /// Whether `GET /patroni` reports maintenance mode.
    pub async fn is_paused(&self) -> Result<bool, RestError> {
        let path = "/patroni";
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|source| RestError::Request { path: path.into(), source })?;
        let body: Value = response.json().await.map_err(|source| RestError::Answer { path: path.into(), source })?;
        Ok(body.get("pause").and_then(Value::as_bool).unwrap_or(false))
    }
}

/// What `GET /patroni` says of the member (absent fields as `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberStatus {
    /// `running`, `restarting`, `stopped`, `creating replica`, `starting`, `streaming`, …
    pub state: Option<String>,
    /// `primary`, `replica`, …
    pub role: Option<String>,
    /// PostgreSQL's timeline.
    pub timeline: Option<u64>,
    /// `pg_postmaster_start_time()` as Patroni reports it (absent while PostgreSQL is down).
    pub postmaster_start_time: Option<String>,
}

impl MemberStatus {
    /// Reads the fields pgdrill uses from Patroni's answer.
    pub fn from_json(body: &Value) -> Self {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        Self {
            state: text("state"),
            role: text("role"),
            timeline: body.get("timeline").and_then(Value::as_u64),
            postmaster_start_time: text("postmaster_start_time"),
        }
    }

    /// `state` (or `?`), for proofs and messages.
    pub fn state_word(&self) -> &str {
        self.state.as_deref().unwrap_or("?")
    }
}

fn expect_success(what: &'static str, (status, text): (u16, String)) -> Result<String, RestError> {
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(RestError::Refused { what, status, text })
    }
}
