//! What a build is asked for ([`ImageOptions`]) and what it gives back ([`ResolvedImages`]).
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::name::{CitusFlavor, ImageName};
use crate::runtime::image_set::ImageSet;

/// How to build.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Which Citus image `kind: citus` topologies run.
    pub citus: CitusFlavor,
    /// Patroni version and PostgreSQL major of the Patroni image (`--images`).
    pub set: ImageSet,
    /// The folder holding `etcd/`, `patroni/`, `haproxy/`, ... (default: [`default_images_dir`]).
    pub images_dir: PathBuf,
    /// Rebuild every image in the chain (base included) without the layer cache, even when a tag
    /// with the same inputs exists: picks up new Debian and PyPI packages.
    pub force_rebuild: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            citus: CitusFlavor::default(),
            set: ImageSet::default(),
            images_dir: default_images_dir(),
            force_rebuild: false,
        }
    }
}

/// The tags to run, and what had to be built to get them.
#[derive(Debug, Clone, Default)]
pub struct ResolvedImages {
    /// The image set these tags were built for.
    pub set: ImageSet,
    /// Base image tag of the common suite (bookworm): parent of etcd, HAProxy and monitoring.
    pub base: String,
    /// Base image tag of the set's suite: parent of the Patroni image (the same as `base` for
    /// PostgreSQL 15; empty unless the Patroni image was asked for).
    pub patroni_base: String,
    /// etcd image tag (empty unless asked for).
    pub etcd: String,
    /// Patroni image tag (empty unless asked for).
    pub patroni: String,
    /// HAProxy image tag (empty unless asked for).
    pub haproxy: String,
    /// Prometheus image tag (empty unless asked for).
    pub prometheus: String,
    /// Alertmanager image tag (empty unless asked for).
    pub alertmanager: String,
    /// postgres_exporter image tag (empty unless asked for).
    pub postgres_exporter: String,
    /// Patroni + Citus (stand-in or real) image tag (empty unless asked for).
    pub citus: String,
    /// Images built by this call (not reused), with how long each took.
    pub built: Vec<(ImageName, Duration)>,
    /// Wall time of the whole call.
    pub total: Duration,
}

impl ResolvedImages {
    /// The tags the containers run, by role (empty ones — images not asked for — left out).
    pub fn tags_by_role(&self) -> Vec<(&'static str, &str)> {
        let tags = [
            ("etcd", &self.etcd),
            ("patroni", &self.patroni),
            ("haproxy", &self.haproxy),
            ("citus", &self.citus),
            ("prometheus", &self.prometheus),
            ("alertmanager", &self.alertmanager),
            ("postgres_exporter", &self.postgres_exporter),
        ];
        tags.into_iter().filter(|(_, tag)| !tag.is_empty()).map(|(role, tag)| (role, tag.as_str())).collect()
    }
}

/// The `images/` folder: the first `images/` holding `patroni/Dockerfile` found walking up from
/// the current directory, else the one next to this crate's sources.
pub fn default_images_dir() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("images");
            if candidate.join("patroni").join("Dockerfile").is_file() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("images")
}
