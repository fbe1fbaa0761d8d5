//! `pgdrill compose SCENARIO -o DIR`: write the Compose project of a scenario's topology and say
//! which images it needs and whether the engine has them.
use std::path::{Path, PathBuf};

use clap::Args;

use super::load::load_all;
use super::output::{errln, outln};
use super::ExitCode;
use crate::compose::{
    compose_scenario, images_for, write_project, ComposeProject, CLUSTER_FILE, COMPOSE_FILE, DEFAULT_PORT_BASE,
    ENV_FILE,
};
use crate::runtime::images::{image_present, planned_tags, ImageOptions};
use crate::runtime::Runtime;
use crate::topology::Secrets;

#[derive(Debug, Args)]
pub(super) struct ComposeArgs {
    /// Scenario file whose topology to write.
    file: PathBuf,
    /// Folder to write docker-compose.yml, .env and config/ into (created if missing; files of
    /// the same names are overwritten).
    #[arg(long, short)]
    output: PathBuf,
    /// Host port (on 127.0.0.1) of the first published port; the others follow one by one.
    #[arg(long, default_value_t = DEFAULT_PORT_BASE)]
    port_base: u16,
}

pub(super) async fn compose(args: &ComposeArgs, options: ImageOptions) -> ExitCode {
    let loaded = match load_all(std::slice::from_ref(&args.file), crate::scenario::LoadOptions::default()) {
        Ok(mut l) => l.remove(0),
        Err(code) => return code,
    };
    let images = match planned_tags(&images_for(&loaded, &options), &options, &|line| errln!("{line}")) {
        Ok(images) => images,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::Environment;
        }
    };
    // Fresh for every project written: a hand-run cluster gets passwords of its own.
    let secrets = match Secrets::generate() {
        Ok(secrets) => secrets,
        Err(e) => {
            errln!("error: failed to draw the project's passwords from the OS's random generator: {e}");
            return ExitCode::Environment;
        }
    };
    let project = match compose_scenario(&loaded, &images, args.port_base, secrets) {
        Ok(project) => project,
        Err(e) => {
            errln!("error: {}", with_causes(&e));
            return ExitCode::InvalidScenario;
        }
    };
    if let Err(e) = write_project(&project, &args.output, true) {
        errln!("error: failed to write {}: {e}", args.output.display());
        return ExitCode::Environment;
    }
    say_written(&project, &args.output);
    say_images(&project).await;
    ExitCode::Success
}

fn say_written(project: &ComposeProject, dir: &Path) {
    // Beside the Compose file: the cluster file; the rest are mounted configuration files.
    let configs = project.files.len() - 2;
    outln!(
        "wrote {}: {COMPOSE_FILE}, {CLUSTER_FILE}, {ENV_FILE} and {configs} configuration files under config/",
        dir.display()
    );
    let files: Vec<&str> = project.password_files.iter().map(|f| f.path.as_str()).collect();
    outln!("fresh passwords: in {ENV_FILE} and {} (for the cluster file), readable by you only", files.join(", "));
    outln!("ports on 127.0.0.1:");
    for port in &project.ports {
        outln!("  {:<16} {:>5} -> 127.0.0.1:{}", port.service, port.container, port.host);
    }
    outln!("start: docker-compose -f {} up -d   (project {})", dir.join(COMPOSE_FILE).display(), project.project_name);
    outln!("remove: docker-compose -f {} down -v", dir.join(COMPOSE_FILE).display());
}

/// Which tags the project runs and whether the engine has them (not an error when it does not:
/// the files are written either way).
async fn say_images(project: &ComposeProject) {
    outln!("images (their tags are in {ENV_FILE}):");
    let docker = Runtime::connect().await;
    let mut missing = 0;
    for image in &project.images {
        let status = match &docker {
            Ok(docker) => match image_present(docker, &image.tag).await {
                Ok(true) => "present".to_string(),
                Ok(false) => {
                    missing += 1;
                    "MISSING".to_string()
                }
                Err(e) => format!("not checked: {e}"),
            },
            Err(e) => format!("not checked: {e}"),
        };
        outln!("  {:<32} {:<40} {status}", image.var, image.tag);
    }
    if missing > 0 {
        outln!("{missing} images are missing: build them with `pgdrill images build` (same --images and --citus)");
    }
}

/// An error with its causes, `: `-separated.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
