//! Compose files for a scenario's topology (`pgdrill compose SCENARIO -o DIR`), for operators who
//! run a topology by hand: made from the same container specs `pgdrill run` starts, so a
//! manual drill and an automated one run the same cluster. Knows nothing of Docker: the CLI
//! checks the images and writes the files.
mod mounts;
mod project;
mod scenario;

#[cfg(test)]
mod examples_tests;

pub use mounts::Mount;
pub use project::{
    compose_project, ComposeError, ComposeInput, ComposeProject, GeneratedFile, ImageVar, PublishedPort, CLUSTER_FILE,
    COMPOSE_FILE, DEFAULT_PORT_BASE, ENV_FILE, LABEL_COMPOSE, PASSWORD_FILE,
};
pub use scenario::{compose_scenario, images_for, write_project};
