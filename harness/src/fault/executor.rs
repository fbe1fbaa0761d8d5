//! The seam between a fault and what it acts on. Faults act only through an [`Executor`]:
//! container operations, commands inside a container, and each member's Patroni REST API. The
//! Docker runtime is one executor ([`DockerExecutor`](super::DockerExecutor)); an attached cluster
//! (Kubernetes, VMs) can be another, with the same fault descriptions.
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use super::link_proxy::LinkProxies;
use super::rest::PatroniApi;
use crate::pg::PgEndpoint;
use std::net::IpAddr;

/// An executor that could not do what it was asked.
#[derive(Debug, Error)]
#[error("failed to {action}: {reason}")]
pub struct ExecutorError {
    /// What was asked, e.g. "pause pg-1".
    pub action: String,
    /// Why it failed.
    pub reason: String,
}

impl ExecutorError {
    /// An error for `action`.
    pub fn new(action: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self { action: action.into(), reason: reason.to_string() }
    }
}

/// What a container is doing, as the executor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// The executor's word for it (`running`, `paused`, `exited`).
    pub status: String,
    /// Whether its processes run (a paused container's do not).
    pub running: bool,
    /// The exit code of its last run.
    pub exit_code: i64,
}

/// The output of a command run inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit code (-1 when unknown).
    pub code: i64,
    /// Standard output and error, combined.
    pub output: String,
}

/// One kind of thing an executor can be asked to do. Every fault declares the operations it acts
/// and proves itself through ([`Fault::needs`](super::Fault::needs)), so an executor lacking one
/// refuses the scenario before anything runs instead of failing half-way through a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// [`Executor::signal`] (SIGKILL).
    Signal,
    /// [`Executor::stop`].
    Stop,
    /// [`Executor::start`].
    Start,
    /// [`Executor::pause`].
    Pause,
    /// [`Executor::unpause`].
    Unpause,
    /// [`Executor::state`] (the proofs of lifecycle faults).
    State,
    /// [`Executor::exec`] (process faults, iptables cuts).
    Exec,
    /// [`Executor::address`].
    Address,
    /// [`Executor::disconnect`].
    Disconnect,
    /// [`Executor::reconnect`].
    Reconnect,
    /// [`Executor::limit_cpus`].
    LimitCpus,
    /// [`Executor::cpu_limit`].
    CpuLimit,
    /// [`Executor::patroni`]: Patroni's REST API.
    PatroniApi,
    /// [`Executor::link_proxies`] and [`Executor::proxy_host`]: TCP proxies inside pgdrill's
    /// process that the containers can reach (only for clusters pgdrill started).
    LinkProxy,
}

impl Operation {
    /// The command executor's template key for it (`None`: not a template — Patroni's REST API,
    /// pgdrill's own link proxies).
    pub fn template(self) -> Option<&'static str> {
        Some(match self {
            Operation::Signal => "kill",
            Operation::Stop => "stop",
            Operation::Start => "start",
            Operation::Pause => "pause",
            Operation::Unpause => "unpause",
            Operation::State => "state",
            Operation::Exec => "exec",
            Operation::Address => "address",
            Operation::Disconnect => "disconnect",
            Operation::Reconnect => "reconnect",
            Operation::LimitCpus => "limit_cpus",
            Operation::CpuLimit => "cpu_limit",
            Operation::PatroniApi | Operation::LinkProxy => return None,
        })
    }
}

/// Everything a fault may do to a cluster.
#[async_trait]
pub trait Executor: Send + Sync + std::fmt::Debug {
    /// Every container it can act on, by the names scenarios use (`pg-1`, `etcd-2`, `haproxy`).
    fn containers(&self) -> Vec<String>;
    /// The network the containers share (for proofs).
    fn network(&self) -> String;
    /// Sends a signal to the container's main process (`SIGKILL` kills the container).
    async fn signal(&self, container: &str, signal: &str) -> Result<(), ExecutorError>;
    /// Stops the container gracefully (SIGTERM, then SIGKILL after `grace`).
    async fn stop(&self, container: &str, grace: Duration) -> Result<(), ExecutorError>;
    /// Starts a stopped container again.
    async fn start(&self, container: &str) -> Result<(), ExecutorError>;
    /// Freezes every process of the container.
    async fn pause(&self, container: &str) -> Result<(), ExecutorError>;
    /// Thaws a frozen container.
    async fn unpause(&self, container: &str) -> Result<(), ExecutorError>;
    /// The container's state.
    async fn state(&self, container: &str) -> Result<ContainerState, ExecutorError>;
    /// Runs a command inside the container, as root.
    async fn exec(&self, container: &str, command: &[&str]) -> Result<CommandOutput, ExecutorError>;
    /// Detaches the container from the network.
    async fn disconnect(&self, container: &str) -> Result<(), ExecutorError>;
    /// Attaches it again.
    async fn reconnect(&self, container: &str) -> Result<(), ExecutorError>;
    /// The container's address on the network (`None` when detached or stopped).
    async fn address(&self, container: &str) -> Result<Option<String>, ExecutorError>;
    /// Limits the container to `cpus` CPUs (`None`: no limit).
    async fn limit_cpus(&self, container: &str, cpus: Option<f64>) -> Result<(), ExecutorError>;
    /// The container's CPU limit as the executor reads it back (`None`: no limit).
    async fn cpu_limit(&self, container: &str) -> Result<Option<f64>, ExecutorError>;
    /// The member's Patroni REST API (`None` for containers without one).
    fn patroni(&self, member: &str) -> Option<PatroniApi>;
    /// The run's link proxies (`None`: this executor cannot route links through pgdrill).
    fn link_proxies(&self) -> Option<&LinkProxies> {
        None
    }
    /// The address the containers reach pgdrill's own process on (link proxies listen there).
    async fn proxy_host(&self) -> Result<IpAddr, ExecutorError> {
        Err(ExecutorError::new("find where containers reach pgdrill", "this executor has no link proxies"))
    }
    /// The member's own PostgreSQL as the superuser (`None` for containers without one), for
    /// proofs that read it (`pg_postmaster_start_time()`, the data directory's backup label);
    /// faults never write through it.
    fn postgres(&self, member: &str) -> Option<PgEndpoint>;
    /// Whether it can perform `operation` at all (the Docker executor can do everything).
    fn supports(&self, _operation: Operation) -> bool {
        true
    }
}

/// Runs `command` in `container` and returns (exit code, output); errors as text, for proofs.
pub async fn run(executor: &dyn Executor, container: &str, command: &[&str]) -> Result<(i64, String), String> {
    executor.exec(container, command).await.map(|out| (out.code, out.output)).map_err(|e| e.to_string())
}
