//! Removing labelled resources: a run's own teardown, and `pgdrill clean` for what killed runs
//! left behind.
use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
};
use bollard::Docker;

use super::docker::{LABEL_PID, LABEL_RUN, LABEL_TOOL};
use super::RuntimeError;
use crate::wait::within;

/// Bound on removing one container (the Docker client's own request bound): a removal stuck
/// in the engine is reported, and the sweep goes on.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Removed container names.
    pub containers: Vec<String>,
    /// Removed network names.
    pub networks: Vec<String>,
    /// Removed volume names.
    pub volumes: Vec<String>,
    /// Resources skipped because their run's harness process is still alive.
    pub skipped_live: usize,
    /// Resources that could not be removed, with Docker's reason (e.g. a network that someone
    /// attached an unlabelled container to). The sweep goes on past them.
    pub failed: Vec<String>,
}

/// Which resources to remove.
#[derive(Debug, Clone, Copy)]
pub enum SweepScope<'a> {
    /// Everything of one run.
    Run(&'a str),
    /// Everything whose harness process is gone (or every pgdrill resource with `all`).
    Leftovers {
        /// Also remove resources of runs that still look alive.
        all: bool,
    },
}

fn label_filter(scope: SweepScope<'_>) -> HashMap<String, Vec<String>> {
    let label = match scope {
        SweepScope::Run(run) => format!("{LABEL_RUN}={run}"),
        SweepScope::Leftovers { .. } => LABEL_TOOL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![label])])
}

/// Whether a resource labelled with a harness pid belongs to a run that is still going.
fn owner_alive(labels: Option<&HashMap<String, String>>) -> bool {
    let Some(pid) = labels.and_then(|l| l.get(LABEL_PID)).and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    pid != std::process::id() && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn keep(scope: SweepScope<'_>, labels: Option<&HashMap<String, String>>) -> bool {
    matches!(scope, SweepScope::Leftovers { all: false }) && owner_alive(labels)
}

/// Removes containers (forcefully, with their anonymous volumes), then networks, then volumes.
pub async fn sweep(docker: &Docker, scope: SweepScope<'_>) -> Result<SweepReport, RuntimeError> {
    let mut report = SweepReport::default();
    let filters = label_filter(scope);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .map_err(|source| RuntimeError::Docker { action: "list containers".into(), source })?;
    // Concurrently: each removal waits on the engine's unmount and layer deletion (about a
    // second apiece on fuse-overlayfs), not on this process.
    let mut removals = Vec::new();
    for container in containers {
        if keep(scope, container.labels.as_ref()) {
            report.skipped_live += 1;
            continue;
        }
        let id = container.id.unwrap_or_default();
        let name = container.names.and_then(|n| n.first().cloned()).unwrap_or_else(|| id.clone());
        removals.push(async move {
            let options = RemoveContainerOptions { force: true, v: true, link: false };
            let what = format!("Docker to remove container {}", name.trim_start_matches('/'));
            let outcome = within(&what, REMOVE_TIMEOUT, docker.remove_container(&id, Some(options))).await;
            (name, outcome)
        });
    }
    for (name, outcome) in futures_util::future::join_all(removals).await {
        match outcome {
            Ok(Ok(())) => report.containers.push(name.trim_start_matches('/').to_string()),
            Ok(Err(e)) if is_not_found(&e) => {}
            Ok(Err(e)) => report.failed.push(format!("container {name}: {e}")),
            Err(timeout) => report.failed.push(timeout.to_string()),
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions { filters: Some(filters.clone()) }))
        .await
        .map_err(|source| RuntimeError::Docker { action: "list networks".into(), source })?;
    for network in networks {
        if keep(scope, network.labels.as_ref()) {
            report.skipped_live += 1;
            continue;
        }
        let name = network.name.unwrap_or_default();
        match docker.remove_network(&name).await {
            Ok(()) => report.networks.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => report.failed.push(format!("network {name}: {e}")),
        }
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions { filters: Some(filters) }))
        .await
        .map_err(|source| RuntimeError::Docker { action: "list volumes".into(), source })?;
    for volume in volumes.volumes.unwrap_or_default() {
        if keep(scope, Some(&volume.labels)) {
            report.skipped_live += 1;
            continue;
        }
        match docker.remove_volume(&volume.name, None::<bollard::query_parameters::RemoveVolumeOptions>).await {
            Ok(()) => report.volumes.push(volume.name),
            Err(e) if is_not_found(&e) => {}
            Err(source) => {
                return Err(RuntimeError::Docker { action: format!("remove volume {}", volume.name), source })
            }
        }
    }
    Ok(report)
}

fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(error, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}
