//! The images a drill runs: Debian base images made on this machine (no registry needed), and
//! etcd, Patroni, HAProxy and the monitoring images (Prometheus, Alertmanager, postgres_exporter)
//! built on them from `images/<name>/`. The Patroni image (and the Citus images on it) is built on
//! the base of the suite that ships the run's PostgreSQL major (bookworm: 15, trixie: 17, see
//! [`ImageSet`]); every other image stays on bookworm.
//!
//! Tags are content hashes of each image's inputs (`pgdrill-<name>:<12 hex>`): the base's suite,
//! and for derived images their files, build arguments (Patroni version, PostgreSQL major) and
//! parent tag. An image is built once and reused until an input changes, images of different
//! sets coexist in the cache, and stale tags are simply never asked for again.
//!
//! This module builds and tags images; it does not start containers or know topologies.
mod base;
mod build;
mod context;
mod ensure;
mod error;
mod name;
mod options;
mod tags;

#[cfg(test)]
mod tests;

pub use super::image_set::{CitusVersion, DebianSuite, ImageChoice, ImageSet, ImageSetError, DEFAULT_PATRONI_VERSION};
pub use crate::topology::PgMajor;
pub use ensure::{ensure_images, image_present, planned_tags};
pub use error::ImageError;
pub use name::{CitusFlavor, ImageName};
pub use options::{ImageOptions, Recipes, ResolvedImages, IMAGES_DIR_VAR};
