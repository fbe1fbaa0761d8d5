//! Removing labelled resources: a run's own teardown, and `pgdrill clean` / `pgdrill down` for
//! what killed or kept runs left behind. `clean` and `down` never remove a run whose harness
//! still runs (see `owner.rs` for how that is judged), and `clean` leaves kept runs alone.
use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
};
use bollard::Docker;

use super::docker::{LABEL_RUN, LABEL_TOOL};
use super::owner::{Liveness, Owner, LABEL_KEPT, LABEL_PID};
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
    /// Resources skipped because their run is kept (`--keep`, `up`).
    pub skipped_kept: usize,
    /// Resources skipped because another host (or pid namespace) created them, so whether their
    /// run goes on cannot be seen from here.
    pub skipped_unknown: usize,
    /// Resources that could not be removed, with Docker's reason (e.g. a network that someone
    /// attached an unlabelled container to). The sweep goes on past them.
    pub failed: Vec<String>,
}

/// Which resources to remove.
#[derive(Debug, Clone, Copy)]
pub enum SweepScope<'a> {
    /// Everything of one run, whatever its state: the run's own teardown and its guard.
    Run(&'a str),
    /// Everything this process created: a second signal tears down whatever runs it had.
    Mine,
    /// `pgdrill down RUN_ID`: one run, kept or not, unless its harness still runs.
    Down(&'a str),
    /// `pgdrill clean`: every run whose harness is gone, except kept runs.
    Leftovers {
        /// Also remove runs whose harness is alive, or whose liveness cannot be seen (`--all`).
        alive: bool,
        /// Also remove kept runs (`--kept`).
        kept: bool,
    },
}

fn label_filter(scope: SweepScope<'_>) -> HashMap<String, Vec<String>> {
    let label = match scope {
        SweepScope::Run(run) | SweepScope::Down(run) => format!("{LABEL_RUN}={run}"),
        SweepScope::Mine => format!("{LABEL_PID}={}", Owner::current().pid),
        SweepScope::Leftovers { .. } => LABEL_TOOL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![label])])
}

/// Why a resource is left in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Live,
    Kept,
    Unknown,
}

fn skip(scope: SweepScope<'_>, labels: Option<&HashMap<String, String>>) -> Option<Skip> {
    let empty = HashMap::new();
    let labels = labels.unwrap_or(&empty);
    let liveness = Owner::current().liveness_of(labels);
    match scope {
        SweepScope::Run(_) => None,
        // Another process of this pid: not ours.
        SweepScope::Mine => (liveness != Liveness::Mine).then_some(Skip::Live),
        SweepScope::Down(_) => matches!(liveness, Liveness::Alive | Liveness::Mine).then_some(Skip::Live),
        SweepScope::Leftovers { alive, kept } => {
            if !kept && labels.contains_key(LABEL_KEPT) {
                return Some(Skip::Kept);
            }
            match liveness {
                Liveness::Dead => None,
                _ if alive => None,
                Liveness::Unknown => Some(Skip::Unknown),
                Liveness::Alive | Liveness::Mine => Some(Skip::Live),
            }
        }
    }
}

impl SweepReport {
    fn skipped(&mut self, why: Skip) {
        match why {
            Skip::Live => self.skipped_live += 1,
            Skip::Kept => self.skipped_kept += 1,
            Skip::Unknown => self.skipped_unknown += 1,
        }
    }
}

/// A run kept on purpose, as `pgdrill down` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRun {
    /// The run id (what `pgdrill down RUN_ID` takes).
    pub run_id: String,
    /// Its containers' short names, sorted.
    pub containers: Vec<String>,
    /// Whether its harness still runs (a `--keep` run not finished yet).
    pub alive: bool,
}

/// Every kept run (`--keep`, `up`) on the Docker engine, sorted by run id (so by start time).
pub async fn kept_runs(docker: &Docker) -> Result<Vec<KeptRun>, RuntimeError> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL_KEPT}=1")])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
        .await
        .map_err(|source| RuntimeError::Docker { action: "list containers".into(), source })?;
    let mut runs: std::collections::BTreeMap<String, KeptRun> = std::collections::BTreeMap::new();
    for container in containers {
        let labels = container.labels.unwrap_or_default();
        let Some(run_id) = labels.get(LABEL_RUN).cloned() else { continue };
        let name = container.names.and_then(|n| n.first().cloned()).unwrap_or_default();
        let short = name.trim_start_matches('/').trim_start_matches(&format!("pgdrill-{run_id}-")).to_string();
        let alive = matches!(Owner::current().liveness_of(&labels), Liveness::Alive | Liveness::Mine);
        let run = runs.entry(run_id.clone()).or_insert(KeptRun { run_id, containers: Vec::new(), alive });
        run.containers.push(short);
    }
    Ok(runs
        .into_values()
        .map(|mut run| {
            run.containers.sort();
            run
        })
        .collect())
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
        if let Some(why) = skip(scope, container.labels.as_ref()) {
            report.skipped(why);
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
        if let Some(why) = skip(scope, network.labels.as_ref()) {
            report.skipped(why);
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
        if let Some(why) = skip(scope, Some(&volume.labels)) {
            report.skipped(why);
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

/// Removes everything this process created, within `limit`: on a second signal the process
/// exits soon, but not before its containers and networks are gone. Says what it removed, or
/// why it could not.
pub async fn sweep_mine(limit: Duration) -> String {
    // The first signal's teardown (or a create the cancelled run had in flight) may still be
    // removing or adding resources: sweep until two sweeps in a row find nothing of ours.
    let work = async {
        let docker = super::Runtime::connect().await?;
        let (mut containers, mut networks, mut quiet) = (0, 0, 0);
        while quiet < 2 {
            let report = sweep(&docker, SweepScope::Mine).await?;
            let found = report.containers.len() + report.networks.len() + report.failed.len();
            containers += report.containers.len();
            networks += report.networks.len();
            quiet = if found == 0 { quiet + 1 } else { 0 };
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Ok::<_, super::RuntimeError>((containers, networks))
    };
    match within("this process's containers and networks to be removed", limit, work).await {
        Ok(Ok((containers, networks))) => format!("removed {containers} containers, {networks} networks"),
        Ok(Err(e)) => format!("could not remove them: {e}; run `pgdrill clean`"),
        Err(timeout) => format!("{timeout}; run `pgdrill clean`"),
    }
}
