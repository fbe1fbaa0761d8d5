//! From a loaded scenario to its Compose project, and the project onto disk.
use std::path::Path;

use super::project::{compose_project, ComposeError, ComposeInput, ComposeProject, ENV_FILE};
use crate::engine::prepare_monitoring;
use crate::runtime::images::{ImageName, ImageOptions, ResolvedImages};
use crate::scenario::{LoadedScenario, TopologyKind};
use crate::topology::{plan, Secrets};

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
    if topology.pooler.is_some() {
        wanted.push(ImageName::Pgbouncer);
    }
    wanted
}

/// The Compose project of `loaded`'s topology with `images` (see [`images_for`]) and passwords
/// `secrets`: the plan `pgdrill run` starts, plus the monitoring stack with the scenario's
/// (time-compressed) rule files when it has `monitoring:`.
pub fn compose_scenario(
    loaded: &LoadedScenario,
    images: &ResolvedImages,
    port_base: u16,
    secrets: Secrets,
) -> Result<ComposeProject, ComposeError> {
    let scenario = &loaded.scenario;
    let plan_images = images.plan_images();
    // The etcd cluster token: unique per run for pgdrill; one Compose project is one cluster.
    let plan = plan(&scenario.topology, &plan_images, &format!("pgdrill-{}", scenario.name), secrets);
    let monitoring = match prepare_monitoring(loaded).map_err(monitoring_error)? {
        Some(setup) => setup.specs(images, &plan).map_err(monitoring_error)?,
        None => Vec::new(),
    };
    compose_project(&ComposeInput { scenario: &scenario.name, plan: &plan, monitoring: &monitoring, images, port_base })
}

fn monitoring_error(source: crate::engine::EngineError) -> ComposeError {
    ComposeError::Monitoring { source: Box::new(source) }
}

/// Writes the project's files into `dir` (created if missing), and `.env` and the password file
/// unless `env` is false (the examples in the repository leave them out: they hold this host's
/// tags and the project's passwords; both are then readable by their owner only). Files already
/// there are overwritten; others are left alone.
pub fn write_project(project: &ComposeProject, dir: &Path, env: bool) -> std::io::Result<()> {
    for file in &project.files {
        write_file(&dir.join(&file.path), &file.content, false)?;
    }
    if env {
        write_file(&dir.join(ENV_FILE), &project.env_file, true)?;
        for file in &project.password_files {
            write_file(&dir.join(&file.path), &file.content, true)?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, content: &str, private: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    std::io::Write::write_all(&mut options.open(path)?, content.as_bytes())?;
    #[cfg(unix)]
    if private {
        // `mode` applies to new files only: an older file keeps its bits unless told.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
