//! Which images pgdrill builds ([`ImageName`]) and which Citus a `kind: citus` topology runs
//! ([`CitusFlavor`]).
use std::fmt;

use crate::runtime::image_set::{CitusVersion, ImageSet, ImageSetError};

/// Label every image built here carries, with the image's name as value.
pub(super) const LABEL_IMAGE: &str = "org.pgdrill.image";

/// One of the images pgdrill builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageName {
    /// Debian (minbase) of a suite: the parent of the others.
    Base,
    /// etcd 3.4 (the DCS).
    Etcd,
    /// PostgreSQL (Debian's postgresql-NN of the set's suite) + Patroni from PyPI.
    Patroni,
    /// HAProxy routing to the primary by Patroni health checks.
    Haproxy,
    /// PgBouncer (Debian's) in front of HAProxy's primary port, for `topology.pooler`.
    Pgbouncer,
    /// Prometheus 2.42 with promtool (alert rules: checked, then evaluated during drills).
    Prometheus,
    /// Alertmanager 0.25, receiving the alerts Prometheus sends.
    Alertmanager,
    /// postgres_exporter 0.11, one per member, with the Citus custom queries.
    PostgresExporter,
    /// The Patroni image plus pgdrill's Citus **stand-in** extension (NOT Citus; hermetic tests).
    CitusStandin,
    /// The Patroni image plus the real Citus from the Citus package repository (needs internet).
    PatroniCitus,
}

impl ImageName {
    /// Every image, base first.
    pub const ALL: [ImageName; 9] = [
        ImageName::Base,
        ImageName::Etcd,
        ImageName::Patroni,
        ImageName::Haproxy,
        ImageName::Pgbouncer,
        ImageName::Prometheus,
        ImageName::Alertmanager,
        ImageName::PostgresExporter,
        ImageName::CitusStandin,
    ];

    /// The monitoring images (started only by scenarios with `monitoring:`).
    pub const MONITORING: [ImageName; 3] =
        [ImageName::Prometheus, ImageName::Alertmanager, ImageName::PostgresExporter];

    /// The name used in tags (`pgdrill-<name>`), labels and the `images/<name>/` folder.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageName::Base => "base",
            ImageName::Etcd => "etcd",
            ImageName::Patroni => "patroni",
            ImageName::Haproxy => "haproxy",
            ImageName::Pgbouncer => "pgbouncer",
            ImageName::Prometheus => "prometheus",
            ImageName::Alertmanager => "alertmanager",
            ImageName::PostgresExporter => "postgres-exporter",
            ImageName::CitusStandin => "citus-standin",
            ImageName::PatroniCitus => "patroni-citus",
        }
    }

    /// Built on the Patroni image (build argument `PATRONI_IMAGE`) rather than on the base.
    pub(super) fn on_patroni(self) -> bool {
        matches!(self, ImageName::CitusStandin | ImageName::PatroniCitus)
    }

    /// Holds PostgreSQL, so is built for the set's major (build argument `PG_MAJOR`).
    pub(super) fn has_postgres(self) -> bool {
        self == ImageName::Patroni || self.on_patroni()
    }

    pub(super) fn repository(self) -> String {
        format!("pgdrill-{}", self.as_str())
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Citus a `kind: citus` topology runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CitusFlavor {
    /// pgdrill's hermetic stand-in extension (images/citus-standin/): NOT Citus.
    #[default]
    Standin,
    /// The real Citus (images/patroni-citus/), installed from the Citus package repository.
    Real,
}

impl CitusFlavor {
    /// The image that provides this flavour.
    pub fn image(self) -> ImageName {
        match self {
            CitusFlavor::Standin => ImageName::CitusStandin,
            CitusFlavor::Real => ImageName::PatroniCitus,
        }
    }

    /// How reports name it, with the release of `set` it is or imitates.
    pub fn describe(self, set: &ImageSet) -> String {
        match self {
            CitusFlavor::Standin => format!(
                "pgdrill Citus stand-in (NOT Citus), imitating Citus {}'s catalog and functions as Patroni uses them",
                CitusVersion::STANDIN
            ),
            CitusFlavor::Real => format!("Citus {} ({})", set.citus_version(), set.citus_version().package(set.pg)),
        }
    }

    /// Refuses a Citus release the flavour cannot give: the stand-in imitates one release only.
    pub fn check(self, set: &ImageSet) -> Result<(), ImageSetError> {
        match (self, set.citus) {
            (CitusFlavor::Standin, Some(citus)) if citus != CitusVersion::STANDIN => {
                Err(ImageSetError::StandinIsNotThatVersion { citus, pg: set.pg })
            }
            _ => Ok(()),
        }
    }
}
