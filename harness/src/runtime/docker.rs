//! The run's Docker resources: one labelled bridge network and labelled containers whose ports
//! are published on loopback only (the harness never talks to container addresses directly).
use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, KillContainerOptions, LogsOptionsBuilder,
    StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::owner::{Owner, LABEL_KEPT};
use super::ports::{lease, LABEL_PORTS};
use super::RuntimeError;
use crate::topology::ContainerSpec;
use crate::wait::within;

/// Label every resource of pgdrill carries (value: "1").
pub const LABEL_TOOL: &str = "org.pgdrill";
/// Label holding the run id.
pub const LABEL_RUN: &str = "org.pgdrill.run";

/// Bound on a command run in a container (faults run `kill`, `iptables`, `rm`: well under a
/// second, more on a loaded machine).
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on reading a container's log.
const LOG_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A container of this run.
#[derive(Debug, Clone)]
pub struct RunningContainer {
    /// Short name (`pg-1`).
    pub name: String,
    /// Docker container name (`pgdrill-<run>-pg-1`).
    pub docker_name: String,
    /// Container port → host port on 127.0.0.1 (stable across restarts: chosen by us, see
    /// `runtime/ports.rs`).
    pub ports: HashMap<u16, u16>,
}

impl RunningContainer {
    /// The loopback host port for a container port.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports.get(&container_port).copied()
    }
}

/// The Docker side of one run.
#[derive(Debug, Clone)]
pub struct Runtime {
    docker: Docker,
    run_id: String,
    network: String,
    /// Resources carry the kept label (`--keep`, `up`): `clean` leaves them alone.
    kept: bool,
}

impl Runtime {
    /// Connects to the local engine, negotiating the API version (older engines reject newer
    /// client versions), and checks it answers.
    pub async fn connect() -> Result<Docker, RuntimeError> {
        let docker =
            Docker::connect_with_local_defaults().map_err(|source| RuntimeError::DockerUnreachable { source })?;
        let docker = docker.negotiate_version().await.map_err(|source| RuntimeError::DockerUnreachable { source })?;
        docker.ping().await.map_err(|source| RuntimeError::DockerUnreachable { source })?;
        Ok(docker)
    }

    /// A runtime for run `run_id` (nothing is created yet).
    pub fn new(docker: Docker, run_id: &str) -> Self {
        Self { docker, run_id: run_id.to_string(), network: format!("pgdrill-{run_id}"), kept: false }
    }

    /// Marks everything this runtime creates as kept (`--keep`, `pgdrill up`): only
    /// `pgdrill down RUN_ID` and `pgdrill clean --kept` remove it.
    pub fn kept(mut self, kept: bool) -> Self {
        self.kept = kept;
        self
    }

    /// The Docker client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run network's name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Docker name of a short container name.
    pub fn docker_name(&self, name: &str) -> String {
        format!("pgdrill-{}-{}", self.run_id, name)
    }

    fn labels(&self, component: &str) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_TOOL.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), self.run_id.clone()),
            ("org.pgdrill.component".to_string(), component.to_string()),
        ]);
        labels.extend(Owner::current().labels());
        if self.kept {
            labels.insert(LABEL_KEPT.to_string(), "1".to_string());
        }
        labels
    }

    /// Creates the run's bridge network (DNS by container alias).
    pub async fn create_network(&self) -> Result<(), RuntimeError> {
        let request = NetworkCreateRequest {
            name: self.network.clone(),
            driver: Some("bridge".to_string()),
            labels: Some(self.labels("network")),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("create network {}", self.network), source })?;
        Ok(())
    }

    /// Creates and starts a container on the run network, with an init process (without one a
    /// killed postgres child stays a zombie and a demoted Patroni primary hangs).
    pub async fn start(&self, spec: &ContainerSpec) -> Result<RunningContainer, RuntimeError> {
        let docker_name = self.docker_name(&spec.name);
        // Held until the container (whose labels name its ports) exists.
        let leased = lease(&self.docker, &spec.ports).await?;
        let mut bindings = HashMap::new();
        for (&port, &host_port) in &leased.ports {
            bindings.insert(
                format!("{port}/tcp"),
                Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host_port.to_string()) }]),
            );
        }
        let host_config = HostConfig {
            init: Some(true),
            network_mode: Some(self.network.clone()),
            port_bindings: Some(bindings),
            cap_add: spec.net_admin.then(|| vec!["NET_ADMIN".to_string()]),
            ..Default::default()
        };
        let endpoint = EndpointSettings { aliases: Some(vec![spec.name.clone()]), ..Default::default() };
        let mut labels = self.labels(&spec.component);
        if !leased.ports.is_empty() {
            labels.insert(LABEL_PORTS.to_string(), leased.label());
        }
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.name.clone()),
            cmd: spec.cmd.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: Some(spec.ports.iter().map(|p| format!("{p}/tcp")).collect()),
            labels: Some(labels),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(self.network.clone(), endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&docker_name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("create container {docker_name}"), source })?;
        let ports = leased.ports.clone();
        drop(leased);
        self.start_existing(&spec.name).await?;
        Ok(RunningContainer { name: spec.name.clone(), docker_name, ports })
    }

    /// Starts a created or stopped container again.
    pub async fn start_existing(&self, name: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        self.docker
            .start_container(&docker_name, None::<StartContainerOptions>)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("start container {docker_name}"), source })
    }

    /// Sends a signal to the container's main process (SIGKILL kills the container).
    pub async fn kill(&self, name: &str, signal: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        let options = KillContainerOptions { signal: signal.to_string() };
        self.docker
            .kill_container(&docker_name, Some(options))
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("send {signal} to {docker_name}"), source })
    }

    /// Stops a container gracefully (SIGTERM, then SIGKILL after `grace_secs`).
    pub async fn stop(&self, name: &str, grace_secs: i32) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        let options = StopContainerOptions { t: Some(grace_secs), signal: None };
        self.docker
            .stop_container(&docker_name, Some(options))
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("stop {docker_name}"), source })
    }

    /// The container's state: (status text, running, exit code).
    pub async fn state(&self, name: &str) -> Result<(String, bool, i64), RuntimeError> {
        let info = self.inspect(name).await?;
        let state = info.state.unwrap_or_default();
        let status = state.status.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
        Ok((status, state.running.unwrap_or(false), state.exit_code.unwrap_or(0)))
    }

    /// Freezes every process of the container (cgroup freezer).
    pub async fn pause(&self, name: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        self.docker
            .pause_container(&docker_name)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("pause {docker_name}"), source })
    }

    /// Thaws a paused container.
    pub async fn unpause(&self, name: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        self.docker
            .unpause_container(&docker_name)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("unpause {docker_name}"), source })
    }

    /// Detaches the container from the run network (as if its cable were pulled).
    pub async fn disconnect(&self, name: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        let request = NetworkDisconnectRequest { container: docker_name.clone(), force: Some(true) };
        self.docker.disconnect_network(&self.network, request).await.map_err(|source| RuntimeError::Docker {
            action: format!("disconnect {docker_name} from {}", self.network),
            source,
        })
    }

    /// Attaches the container to the run network again, under its alias.
    pub async fn reconnect(&self, name: &str) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        let endpoint = EndpointSettings { aliases: Some(vec![name.to_string()]), ..Default::default() };
        let request = NetworkConnectRequest { container: docker_name.clone(), endpoint_config: Some(endpoint) };
        self.docker.connect_network(&self.network, request).await.map_err(|source| RuntimeError::Docker {
            action: format!("connect {docker_name} to {}", self.network),
            source,
        })
    }

    /// Limits the container to `cpus` CPUs (Docker's `NanoCpus`). `None` lifts the limit: Docker
    /// cannot unset `NanoCpus` once set (an update with 0 keeps the old value), so the limit
    /// becomes every CPU of the host, which is no limit.
    pub async fn limit_cpus(&self, name: &str, cpus: Option<f64>) -> Result<(), RuntimeError> {
        let docker_name = self.docker_name(name);
        let nano = match cpus {
            Some(c) => (c * 1e9).round() as i64,
            None => self.host_cpus().await? * 1_000_000_000,
        };
        let body = bollard::models::ContainerUpdateBody { nano_cpus: Some(nano), ..Default::default() };
        self.docker
            .update_container(&docker_name, body)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("update the CPU limit of {docker_name}"), source })
    }

    /// The container's CPU limit read back from Docker (`None`: none, or every CPU of the host).
    pub async fn cpu_limit(&self, name: &str) -> Result<Option<f64>, RuntimeError> {
        let info = self.inspect(name).await?;
        let nano = info.host_config.and_then(|h| h.nano_cpus).unwrap_or(0);
        let all = self.host_cpus().await? * 1_000_000_000;
        Ok((nano > 0 && nano < all).then(|| nano as f64 / 1e9))
    }

    /// Docker's view of the container.
    async fn inspect(&self, name: &str) -> Result<bollard::models::ContainerInspectResponse, RuntimeError> {
        let docker_name = self.docker_name(name);
        self.docker
            .inspect_container(&docker_name, None::<InspectContainerOptions>)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("inspect {docker_name}"), source })
    }

    /// How many CPUs the Docker host has.
    async fn host_cpus(&self) -> Result<i64, RuntimeError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|source| RuntimeError::Docker { action: "read the Docker host's CPU count".into(), source })?;
        Ok(info.ncpu.unwrap_or(1).max(1))
    }

    /// The run network's IPv4 gateway: the host's address on it, which its containers reach.
    pub async fn gateway(&self) -> Result<Option<String>, RuntimeError> {
        let network = self
            .docker
            .inspect_network(&self.network, None::<bollard::query_parameters::InspectNetworkOptions>)
            .await
            .map_err(|source| RuntimeError::Docker { action: format!("inspect network {}", self.network), source })?;
        Ok(network
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .filter_map(|c| c.gateway)
            .find(|g| g.parse::<std::net::Ipv4Addr>().is_ok()))
    }

    /// The container's address on the run network, if attached and running.
    pub async fn ip(&self, name: &str) -> Result<Option<String>, RuntimeError> {
        let info = self.inspect(name).await?;
        Ok(info
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(&self.network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty()))
    }

    /// The last `lines` lines the container printed (stdout and stderr), indented for error
    /// messages.
    pub async fn log_tail(&self, name: &str, lines: usize) -> String {
        indent(&self.raw_log_tail(name, lines).await)
    }

    /// The last `lines` lines the container printed (stdout and stderr), as they are. A read
    /// that takes over 30 s returns what arrived by then and says the rest did not.
    pub async fn raw_log_tail(&self, name: &str, lines: usize) -> String {
        let docker_name = self.docker_name(name);
        let tail = if lines == usize::MAX { "all".to_string() } else { lines.to_string() };
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&tail).build();
        let mut stream = self.docker.logs(&docker_name, Some(options));
        let mut out = String::new();
        let read = async {
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => out.push_str(&String::from_utf8_lossy(&chunk.into_bytes())),
                    Err(e) => {
                        out.push_str(&format!("(could not read logs: {e})"));
                        break;
                    }
                }
            }
        };
        if let Err(timeout) = within(&format!("the logs of {docker_name}"), LOG_READ_TIMEOUT, read).await {
            out.push_str(&format!("(could not read logs: {timeout})"));
        }
        out
    }

    /// Everything the container printed (stdout and stderr), as it is.
    pub async fn full_log(&self, name: &str) -> String {
        self.raw_log_tail(name, usize::MAX).await
    }

    /// Runs a command in a container as root and returns (exit code, combined output). A command
    /// still running after a minute fails with [`RuntimeError::TimedOut`], quoting its output so far.
    pub async fn exec(&self, name: &str, cmd: &[&str]) -> Result<(i64, String), RuntimeError> {
        let docker_name = self.docker_name(name);
        let action = || format!("exec `{}` in {docker_name}", cmd.join(" "));
        let exec = self
            .docker
            .create_exec(
                &docker_name,
                CreateExecOptions {
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    // Faults need root (iptables, kill) whatever user the image runs as.
                    user: Some("root".to_string()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|source| RuntimeError::Docker { action: action(), source })?;
        let mut output = String::new();
        if let StartExecResults::Attached { output: mut stream, .. } = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|source| RuntimeError::Docker { action: action(), source })?
        {
            let read = async {
                while let Some(Ok(chunk)) = stream.next().await {
                    output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                }
            };
            let what = format!("`{}` in {docker_name} to finish", cmd.join(" "));
            if let Err(mut timeout) = within(&what, EXEC_TIMEOUT, read).await {
                if !output.is_empty() {
                    timeout.last_seen = format!("its output so far: {}", output.trim_end());
                }
                return Err(timeout.into());
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|source| RuntimeError::Docker { action: action(), source })?;
        Ok((inspect.exit_code.unwrap_or(-1), output))
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}
