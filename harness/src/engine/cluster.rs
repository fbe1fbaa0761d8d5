//! A started topology: its containers, their loopback ports, the live view, and health waits.
use std::collections::BTreeMap;
use std::time::Duration;

use super::EngineError;
use crate::observe::LiveView;
use crate::runtime::{RunningContainer, Runtime, RuntimeError};
use crate::topology::configs::SUPERUSER_PASSWORD;
use crate::topology::{Plan, HAPROXY_PRIMARY_PORT, PATRONI_PORT};
use crate::workload::PgEndpoint;

/// The run's containers once started.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Docker side of the run.
    pub runtime: Runtime,
    /// What was planned.
    pub plan: Plan,
    /// Started containers by short name.
    pub containers: BTreeMap<String, RunningContainer>,
}

impl Cluster {
    /// Creates the network and starts every container in plan order.
    pub async fn start(runtime: Runtime, plan: Plan) -> Result<Self, RuntimeError> {
        runtime.create_network().await?;
        let mut containers = BTreeMap::new();
        for spec in plan.all() {
            let container = runtime.start(spec).await?;
            containers.insert(spec.name.clone(), container);
        }
        Ok(Self { runtime, plan, containers })
    }

    /// (member, REST port on loopback) for the Patroni observer.
    pub fn patroni_endpoints(&self) -> Vec<(String, u16)> {
        self.plan
            .member_names()
            .into_iter()
            .filter_map(|m| self.containers.get(&m).and_then(|c| c.host_port(PATRONI_PORT)).map(|p| (m, p)))
            .collect()
    }

    /// HAProxy's primary port as a PostgreSQL endpoint.
    pub fn primary_endpoint(&self) -> PgEndpoint {
        let port = self.containers.get("haproxy").and_then(|c| c.host_port(HAPROXY_PRIMARY_PORT)).unwrap_or_default();
        PgEndpoint {
            host: "127.0.0.1".into(),
            port,
            user: "postgres".into(),
            password: SUPERUSER_PASSWORD.into(),
            dbname: "postgres".into(),
        }
    }

    /// Fails with the container's log tail if any container of the run is not running.
    /// `expected_down` lists containers a fault stopped on purpose.
    pub async fn ensure_running(&self, phase: &str, expected_down: &[String]) -> Result<(), RuntimeError> {
        for name in self.containers.keys() {
            if expected_down.contains(name) {
                continue;
            }
            let (status, running, exit_code) = self.runtime.state(name).await?;
            if !running && status != "paused" {
                return Err(RuntimeError::ContainerExited {
                    container: self.runtime.docker_name(name),
                    phase: phase.to_string(),
                    exit_code,
                    log_tail: self.runtime.log_tail(name, 30).await,
                });
            }
        }
        Ok(())
    }

    /// Waits until every member answers, exactly one is a running primary and the others are
    /// running or streaming replicas — and, in synchronous mode, one of them is the designated
    /// sync standby (until Patroni names one, no replica may promote and a failover is blocked).
    /// Bounded by `within`; checks for exited containers as it goes.
    pub async fn wait_healthy(
        &self,
        live: &LiveView,
        within: Duration,
        expected_down: &[String],
        require_sync_standby: bool,
    ) -> Result<(), EngineError> {
        let start = tokio::time::Instant::now();
        let members = self.plan.member_names();
        let mut last_container_check = start;
        loop {
            let snapshot = live.snapshot();
            let all_seen = members.iter().all(|m| snapshot.contains_key(m));
            let primaries = snapshot.values().filter(|(v, _)| v.is_running_primary()).count();
            let replicas = snapshot.values().filter(|(v, _)| v.is_healthy_replica()).count();
            let sync_ok =
                !require_sync_standby || snapshot.values().any(|(v, _)| v.is_healthy_replica() && v.sync_standby);
            if all_seen && primaries == 1 && primaries + replicas == members.len() && sync_ok {
                return Ok(());
            }
            if start.elapsed() >= within {
                return Err(EngineError::WaitTimedOut {
                    what: if require_sync_standby {
                        "a healthy cluster (one running primary, every other member a streaming replica, one of them the sync standby)".into()
                    } else {
                        "a healthy cluster (one running primary, every other member a streaming replica)".into()
                    },
                    waited_s: within.as_secs(),
                    last_seen: live.describe(),
                });
            }
            if last_container_check.elapsed() >= Duration::from_secs(1) {
                self.ensure_running("the wait for a healthy cluster", expected_down).await?;
                last_container_check = tokio::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Records, for every container, whether a fault left it paused, off the network or with
    /// pgdrill iptables rules (the `faults_undone` check reads these events).
    pub async fn audit_containers(&self, timeline: &crate::timeline::TimelineWriter) {
        for name in self.containers.keys() {
            let net_admin = self.plan.all().any(|s| s.name == *name && s.net_admin);
            let (status, running, _) = match self.runtime.state(name).await {
                Ok(state) => state,
                Err(_) => continue,
            };
            let on_network = self.runtime.ip(name).await.ok().flatten().is_some();
            let iptables_rules = if running && status == "running" && net_admin {
                crate::fault::network::remaining_rules(&self.runtime, name).await.ok()
            } else {
                None
            };
            timeline.record(crate::timeline::EventKind::ContainerAudit {
                container: name.clone(),
                status,
                on_network,
                iptables_rules,
            });
        }
    }

    /// Writes the last lines of every container's log to `dir/logs/<name>.log` (for the reader
    /// of a failed drill: the containers are gone after teardown).
    pub async fn save_logs(&self, dir: &std::path::Path, lines: usize) -> std::io::Result<()> {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        for name in self.containers.keys() {
            let text = self.runtime.raw_log_tail(name, lines).await;
            std::fs::write(logs.join(format!("{name}.log")), text)?;
        }
        Ok(())
    }
}
