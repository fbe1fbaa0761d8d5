//! From a loaded scenario to its Compose project, and the project onto disk.
use std::path::Path;

use super::project::{compose_project, ComposeError, ComposeInput, ComposeProject, ENV_FILE};
use crate::engine::prepare_monitoring;
use crate::runtime::images::{ImageName, ImageOptions, ResolvedImages};
use crate::scenario::{LoadedScenario, TopologyKind};
use crate::topology::{plan, PlanImages};

/// The images a scenario's Compose project runs.
pub fn images_for(loaded: &LoadedScenario, options: &ImageOptions) -> Vec<ImageName> {
    let topology = &loaded.scenario.topology;
    let mut wanted = vec![ImageName::Etcd, ImageName::Patroni, ImageName::Haproxy];
    if topology.monitoring.is_some() {
        wanted.extend(ImageName::MONITORING);
    }
    if topology.kind == TopologyKind::Citus {
        wanted.push(options.citus.image());
    }
    wanted
}

/// The Compose project of `loaded`'s topology with `images` (see [`images_for`]): the plan
/// `pgdrill run` starts, plus the monitoring stack with the scenario's (time-compressed) rule
/// files when it has `monitoring:`.
pub fn compose_scenario(
    loaded: &LoadedScenario,
    images: &ResolvedImages,
    port_base: u16,
) -> Result<ComposeProject, ComposeError> {
    let scenario = &loaded.scenario;
    let plan_images = PlanImages {
        etcd: images.etcd.clone(),
        patroni: images.patroni.clone(),
        haproxy: images.haproxy.clone(),
        citus: images.citus.clone(),
        postgres: images.set.pg,
    };
    // The etcd cluster token: unique per run for pgdrill; one Compose project is one cluster.
    let plan = plan(&scenario.topology, &plan_images, &format!("pgdrill-{}", scenario.name));
    let monitoring = match prepare_monitoring(loaded).map_err(monitoring_error)? {
        Some(setup) => setup.specs(images, &plan.scope, &plan.member_names()).map_err(monitoring_error)?,
        None => Vec::new(),
    };
    compose_project(&ComposeInput { scenario: &scenario.name, plan: &plan, monitoring: &monitoring, images, port_base })
}

fn monitoring_error(source: crate::engine::EngineError) -> ComposeError {
    ComposeError::Monitoring { source: Box::new(source) }
}

/// Writes the project's files into `dir` (created if missing), and `.env` unless `env` is false
/// (the examples in the repository leave it out: its tags depend on the host). Files already
/// there are overwritten; others are left alone.
pub fn write_project(project: &ComposeProject, dir: &Path, env: bool) -> std::io::Result<()> {
    let env_file = env.then_some((ENV_FILE, &project.env_file));
    let files = project.files.iter().map(|f| (f.path.as_str(), &f.content)).chain(env_file);
    for (path, content) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
    }
    Ok(())
}
