//! Host ports for the containers' published ports.
//!
//! A fault that kills or stops a container starts it again later, and it must come back on the
//! same host port. Two ways were open: let Docker assign a port and re-read it after every start,
//! or choose it ourselves. Docker assigns anew on each start, so re-reading would mean telling
//! every holder of an endpoint (the observers, the workload, the fault executor's REST clients,
//! Prometheus' targets, `up`'s printed lines) that it moved, mid-run. Choosing is simpler and
//! keeps every endpoint fixed for the whole run; it is correct when the port is chosen where
//! nothing takes it by chance while the container is down:
//! - *outside the kernel's ephemeral range* (`ip_local_port_range`), where `bind(0)`, outgoing
//!   connections and Docker's own automatic ports come from (until now pgdrill took its ports
//!   from `bind(0)`, i.e. from inside that range: any outgoing connection could get the port of a
//!   killed container before its restart);
//! - not a port that another pgdrill container holds, running or stopped: each container carries
//!   its ports in a label, and choosing and creating happen under a host-wide file lock, so two
//!   runs started at the same time never choose the same port.
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::TcpListener;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptions;
use bollard::Docker;

use super::docker::LABEL_TOOL;
use super::host_lock::HostLockError;
use super::RuntimeError;

/// Label holding a container's published ports, `container=host` pairs joined by commas.
pub const LABEL_PORTS: &str = "org.pgdrill.ports";

/// Lowest host port pgdrill publishes on (below it: registered services' ports).
const POOL_START: u16 = 20000;
/// Bound on waiting for another pgdrill process to finish creating a container.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Ports chosen for one container, and the host-wide lock that keeps them ours until the
/// container carrying them in its labels exists (drop it after the container is created).
#[derive(Debug)]
pub struct PortLease {
    /// Container port → host port.
    pub ports: HashMap<u16, u16>,
    /// Held while the lease lives.
    _lock: Option<File>,
}

impl PortLease {
    /// The value of [`LABEL_PORTS`] for these ports.
    pub fn label(&self) -> String {
        let mut pairs: Vec<String> = self.ports.iter().map(|(c, h)| format!("{c}={h}")).collect();
        pairs.sort();
        pairs.join(",")
    }
}

/// Chooses a host port for each of `container_ports`.
pub async fn lease(docker: &Docker, container_ports: &[u16]) -> Result<PortLease, RuntimeError> {
    if container_ports.is_empty() {
        return Ok(PortLease { ports: HashMap::new(), _lock: None });
    }
    let lock = host_lock().await?;
    let taken = ports_of_pgdrill_containers(docker).await?;
    let pool = pool(ephemeral_range());
    let offset = getrandom::u32().unwrap_or_else(|_| std::process::id()) as usize % pool.len();
    let mut ports = HashMap::new();
    let mut candidates = pool[offset..].iter().chain(&pool[..offset]).copied();
    for &container_port in container_ports {
        let host_port = candidates
            .by_ref()
            .find(|p| !taken.contains(p) && TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .ok_or_else(|| RuntimeError::Port {
                source: std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "every port outside the ephemeral range is taken",
                ),
            })?;
        ports.insert(container_port, host_port);
    }
    Ok(PortLease { ports, _lock: Some(lock) })
}

/// The kernel's ephemeral range, `(first, last)` (Linux's default where it cannot be read).
fn ephemeral_range() -> (u16, u16) {
    let read = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
    let parsed = read.and_then(|text| {
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u16>().ok());
        Some((numbers.next()??, numbers.next()??))
    });
    parsed.unwrap_or((32768, 60999))
}

/// The ports pgdrill may publish on: from [`POOL_START`] up to the ephemeral range, then above it.
fn pool((first, last): (u16, u16)) -> Vec<u16> {
    let below = POOL_START..first.max(POOL_START);
    let mut pool: Vec<u16> = below.collect();
    if let Some(after) = last.checked_add(1) {
        pool.extend(after.max(POOL_START)..=u16::MAX);
    }
    if pool.is_empty() {
        // An ephemeral range spanning everything: nothing is safe, take what binds.
        pool = (POOL_START..=u16::MAX).collect();
    }
    pool
}

/// The host-wide port lock.
async fn host_lock() -> Result<File, RuntimeError> {
    let what = "another pgdrill creating a container";
    super::host_lock::acquire("ports", what, LOCK_TIMEOUT, Duration::from_millis(20)).await.map_err(|e| match e {
        HostLockError::Open { source, .. } => RuntimeError::Port { source },
        HostLockError::Timeout(timeout) => RuntimeError::from(timeout),
    })
}

/// Host ports held by any pgdrill container, running or stopped.
async fn ports_of_pgdrill_containers(docker: &Docker) -> Result<HashSet<u16>, RuntimeError> {
    let filters = HashMap::from([("label".to_string(), vec![LABEL_TOOL.to_string()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
        .await
        .map_err(|source| RuntimeError::Docker { action: "list containers (for their ports)".into(), source })?;
    Ok(containers
        .iter()
        .filter_map(|c| c.labels.as_ref()?.get(LABEL_PORTS))
        .flat_map(|label| label.split(',').filter_map(|pair| pair.split_once('=')?.1.parse().ok()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_avoids_the_ephemeral_range() {
        let default = pool((32768, 60999));
        assert_eq!(default.first(), Some(&POOL_START));
        assert!(default.iter().all(|p| *p < 32768 || *p > 60999));
        assert!(default.contains(&32767) && default.contains(&61000) && default.contains(&65535));
        assert!(!pool((1024, 65535)).is_empty(), "a range spanning everything still leaves ports");
    }

    #[test]
    fn the_label_lists_pairs_in_order() {
        let lease = PortLease { ports: HashMap::from([(8008, 20002), (5432, 20001)]), _lock: None };
        assert_eq!(lease.label(), "5432=20001,8008=20002");
    }
}
