//! The executor for clusters pgdrill started itself: every operation is a Docker call on the
//! run's containers, and Patroni's REST API is reached on each member's published port.
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::executor::{CommandOutput, ContainerState, Executor, ExecutorError};
use super::link_proxy::LinkProxies;
use super::rest::{PatroniApi, RestAuth};
use crate::pg::PgEndpoint;
use crate::runtime::{RunningContainer, Runtime};
use crate::topology::{PATRONI_PORT, POSTGRES_PORT};

/// Faults on the run's own containers.
#[derive(Debug, Clone)]
pub struct DockerExecutor {
    runtime: Runtime,
    containers: BTreeMap<String, RunningContainer>,
    /// The run's REST API credentials, sent with every unsafe call.
    rest: RestAuth,
    /// The superuser login of the run's members (its port is each container's published one).
    superuser: PgEndpoint,
    /// The run's link proxies (shared by every executor of the run: a fault's undo finds them).
    proxies: LinkProxies,
}

impl DockerExecutor {
    /// An executor for `containers` of `runtime`'s run, calling Patroni's REST API with `rest`,
    /// reading PostgreSQL as `superuser` (its host and port are replaced by each member's
    /// published port on loopback) and routing links through `proxies`.
    pub fn new(
        runtime: Runtime,
        containers: BTreeMap<String, RunningContainer>,
        rest: RestAuth,
        superuser: PgEndpoint,
        proxies: LinkProxies,
    ) -> Self {
        Self { runtime, containers, rest, superuser, proxies }
    }
}

fn failed(action: String) -> impl FnOnce(crate::runtime::RuntimeError) -> ExecutorError {
    move |e| ExecutorError::new(action, e)
}

#[async_trait]
impl Executor for DockerExecutor {
    fn containers(&self) -> Vec<String> {
        self.containers.keys().cloned().collect()
    }

    fn network(&self) -> String {
        self.runtime.network().to_string()
    }

    async fn signal(&self, container: &str, signal: &str) -> Result<(), ExecutorError> {
        self.runtime.kill(container, signal).await.map_err(failed(format!("send {signal} to {container}")))
    }

    async fn stop(&self, container: &str, grace: Duration) -> Result<(), ExecutorError> {
        let grace = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        self.runtime.stop(container, grace).await.map_err(failed(format!("stop {container}")))
    }

    async fn start(&self, container: &str) -> Result<(), ExecutorError> {
        self.runtime.start_existing(container).await.map_err(failed(format!("start {container}")))
    }

    async fn pause(&self, container: &str) -> Result<(), ExecutorError> {
        self.runtime.pause(container).await.map_err(failed(format!("pause {container}")))
    }

    async fn unpause(&self, container: &str) -> Result<(), ExecutorError> {
        self.runtime.unpause(container).await.map_err(failed(format!("unpause {container}")))
    }

    async fn state(&self, container: &str) -> Result<ContainerState, ExecutorError> {
        let (status, running, exit_code) =
            self.runtime.state(container).await.map_err(failed(format!("inspect {container}")))?;
        Ok(ContainerState { status, running, exit_code })
    }

    async fn exec(&self, container: &str, command: &[&str]) -> Result<CommandOutput, ExecutorError> {
        let (code, output) = self
            .runtime
            .exec(container, command)
            .await
            .map_err(failed(format!("run `{}` in {container}", command.join(" "))))?;
        Ok(CommandOutput { code, output })
    }

    async fn disconnect(&self, container: &str) -> Result<(), ExecutorError> {
        self.runtime.disconnect(container).await.map_err(failed(format!("disconnect {container}")))
    }

    async fn reconnect(&self, container: &str) -> Result<(), ExecutorError> {
        self.runtime.reconnect(container).await.map_err(failed(format!("reconnect {container}")))
    }

    async fn address(&self, container: &str) -> Result<Option<String>, ExecutorError> {
        self.runtime.ip(container).await.map_err(failed(format!("read the address of {container}")))
    }

    async fn limit_cpus(&self, container: &str, cpus: Option<f64>) -> Result<(), ExecutorError> {
        self.runtime.limit_cpus(container, cpus).await.map_err(failed(format!("limit the CPUs of {container}")))
    }

    async fn cpu_limit(&self, container: &str) -> Result<Option<f64>, ExecutorError> {
        self.runtime.cpu_limit(container).await.map_err(failed(format!("read the CPU limit of {container}")))
    }

    fn link_proxies(&self) -> Option<&LinkProxies> {
        Some(&self.proxies)
    }

    async fn proxy_host(&self) -> Result<std::net::IpAddr, ExecutorError> {
        let action = || format!("read the gateway of network {}", self.runtime.network());
        let gateway = self.runtime.gateway().await.map_err(|e| ExecutorError::new(action(), e))?;
        let gateway = gateway.ok_or_else(|| ExecutorError::new(action(), "the network has no IPv4 gateway"))?;
        gateway.parse().map_err(|e| ExecutorError::new(action(), format!("{gateway:?}: {e}")))
    }

    fn patroni(&self, member: &str) -> Option<PatroniApi> {
        let port = self.containers.get(member).and_then(|c| c.host_port(PATRONI_PORT))?;
        Some(PatroniApi::on_port(port, self.rest.clone()))
    }

    fn postgres(&self, member: &str) -> Option<PgEndpoint> {
        let port = self.containers.get(member).and_then(|c| c.host_port(POSTGRES_PORT))?;
        Some(PgEndpoint { host: "127.0.0.1".into(), port, ..self.superuser.clone() })
    }
}
