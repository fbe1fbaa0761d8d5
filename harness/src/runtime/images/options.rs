//! What a build is asked for ([`ImageOptions`]) and what it gives back ([`ResolvedImages`]).
use std::path::PathBuf;
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
    /// Where the Dockerfiles and their files come from (default: [`Recipes::from_env`]).
    pub recipes: Recipes,
    /// Rebuild every image in the chain (base included) without the layer cache, even when a tag
    /// with the same inputs exists: picks up new Debian and PyPI packages.
    pub force_rebuild: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            citus: CitusFlavor::default(),
            set: ImageSet::default(),
            recipes: Recipes::from_env(),
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
    /// PgBouncer image tag (empty unless asked for).
    pub pgbouncer: String,
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
    /// The tags a topology plan puts in its container specs.
    pub fn plan_images(&self) -> crate::topology::PlanImages {
        crate::topology::PlanImages {
            etcd: self.etcd.clone(),
            patroni: self.patroni.clone(),
            haproxy: self.haproxy.clone(),
            pgbouncer: self.pgbouncer.clone(),
            citus: self.citus.clone(),
            postgres: self.set.pg,
        }
    }

    /// The tags the containers run, by role (empty ones — images not asked for — left out).
    pub fn tags_by_role(&self) -> Vec<(&'static str, &str)> {
        let tags = [
            ("etcd", &self.etcd),
            ("patroni", &self.patroni),
            ("haproxy", &self.haproxy),
            ("pgbouncer", &self.pgbouncer),
            ("citus", &self.citus),
            ("prometheus", &self.prometheus),
            ("alertmanager", &self.alertmanager),
            ("postgres_exporter", &self.postgres_exporter),
        ];
        tags.into_iter().filter(|(_, tag)| !tag.is_empty()).map(|(role, tag)| (role, tag.as_str())).collect()
    }
}

/// Where the image recipes (each image's Dockerfile and files) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipes {
    /// Built into this binary: the checkout's `images/` when it was compiled, so an installed
    /// `pgdrill` needs no checkout and gives the same content-hash tags.
    Embedded,
    /// A folder holding `etcd/`, `patroni/`, `haproxy/`, ... (`PGDRILL_IMAGES_DIR`): recipes
    /// being edited, used without recompiling.
    Dir(PathBuf),
}

/// The variable that points pgdrill at a folder of recipes instead of its embedded ones.
pub const IMAGES_DIR_VAR: &str = "PGDRILL_IMAGES_DIR";

impl Recipes {
    /// The folder `PGDRILL_IMAGES_DIR` names, when set and not empty; else the embedded recipes.
    pub fn from_env() -> Self {
        match std::env::var_os(IMAGES_DIR_VAR) {
            Some(dir) if !dir.is_empty() => Self::Dir(PathBuf::from(dir)),
            _ => Self::Embedded,
        }
    }

    /// Where image `name`'s recipe is, for progress lines.
    pub fn describe(&self, name: &str) -> String {
        match self {
            Self::Embedded => format!("the recipe built into pgdrill (images/{name})"),
            Self::Dir(dir) => dir.join(name).display().to_string(),
        }
    }
}
