//! The image set of a run: which Patroni (a PyPI version) on which PostgreSQL major — and so on
//! which Debian suite the Patroni image is built. Chosen with `--images patroni=3.3.2,pg=17`, so
//! a pre-upgrade validation is two runs with different sets and `pgdrill compare`.
//!
//! This module only parses and describes sets; `images` builds them.
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::topology::PgMajor;

/// Patroni version installed from PyPI when none is given.
pub const DEFAULT_PATRONI_VERSION: &str = "4.1.5";

/// What `--images` accepts, for error messages and `--help`.
pub const IMAGE_KEYS_HELP: &str = "patroni=<version on PyPI, e.g. 3.3.2 or 4.1.5>, pg=<PostgreSQL major: 15 (Debian \
     bookworm) or 17 (Debian trixie)>, citus=<Citus major.minor for --citus real, e.g. 12.1 or 13.2>";

/// A Debian suite pgdrill makes base images of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DebianSuite {
    /// Debian 12: PostgreSQL 15, and every image that is not the Patroni image.
    Bookworm,
    /// Debian 13: PostgreSQL 17.
    Trixie,
}

impl DebianSuite {
    /// The suite's code name, as debootstrap and the mirror spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DebianSuite::Bookworm => "bookworm",
            DebianSuite::Trixie => "trixie",
        }
    }
}

impl fmt::Display for DebianSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Debian suite ships a major: the plan only needs the major, the images its suite.
impl PgMajor {
    /// The Debian suite whose own `postgresql-NN` package is this major.
    pub fn suite(self) -> DebianSuite {
        match self {
            PgMajor::Pg15 => DebianSuite::Bookworm,
            PgMajor::Pg17 => DebianSuite::Trixie,
        }
    }
}

/// A Citus release line, `major.minor`, as the Citus project's packages name it
/// (`postgresql-15-citus-12.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitusVersion {
    /// Major release (13).
    pub major: u32,
    /// Minor release (2).
    pub minor: u32,
}

impl CitusVersion {
    /// The release whose catalog and functions (as Patroni uses them) the stand-in imitates: its
    /// extension version is `12.1-standin`. (Its timings are modelled on Citus 13.2.2: README.)
    pub const STANDIN: CitusVersion = CitusVersion { major: 12, minor: 1 };

    /// The release the real Citus image installs when none is asked for (as images/patroni-citus/
    /// does): 12.1 on PostgreSQL 15, 13.0 on 17.
    pub fn default_for(pg: PgMajor) -> CitusVersion {
        match pg {
            PgMajor::Pg15 => CitusVersion::STANDIN,
            PgMajor::Pg17 => CitusVersion { major: 13, minor: 0 },
        }
    }

    /// Whether the Citus project ships this release for `pg` (Citus's release notes: 11.1–11.3
    /// support PostgreSQL 13–15, 12.x 14–16, 13.x 15–17; 10.x and 11.0 predate 15). Releases
    /// newer than pgdrill knows are let through: apt says so if the package does not exist.
    pub fn supports(self, pg: PgMajor) -> bool {
        match (self.major, pg) {
            (0..=10, _) => false,
            (11, PgMajor::Pg15) => self.minor >= 1,
            (11 | 12, PgMajor::Pg17) => false,
            _ => true,
        }
    }

    /// The Citus project's Debian package of this release for `pg`.
    pub fn package(self, pg: PgMajor) -> String {
        format!("postgresql-{pg}-citus-{self}")
    }
}

impl fmt::Display for CitusVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for CitusVersion {
    type Err = ImageSetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ImageSetError::BadCitusVersion { value: text.to_string() };
        let (major, minor) = text.split_once('.').ok_or_else(bad)?;
        let number = |part: &str| part.parse::<u32>().ok().filter(|_| part.chars().all(|c| c.is_ascii_digit()));
        Ok(CitusVersion { major: number(major).ok_or_else(bad)?, minor: number(minor).ok_or_else(bad)? })
    }
}

/// The Patroni version and PostgreSQL major a run's Patroni image is built with, and the Citus
/// release of the real Citus image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSet {
    /// Patroni version installed from PyPI (`pip install patroni[etcd3]==<this>`).
    pub patroni: String,
    /// PostgreSQL major (decides the Debian suite of the Patroni image).
    pub pg: PgMajor,
    /// The Citus release asked for (`citus=13.2`); `None`: [`CitusVersion::default_for`] the major.
    pub citus: Option<CitusVersion>,
}

impl Default for ImageSet {
    fn default() -> Self {
        ImageSet { patroni: DEFAULT_PATRONI_VERSION.to_string(), pg: PgMajor::default(), citus: None }
    }
}

impl ImageSet {
    /// The default set with `choices` applied in order. A key given twice with different values
    /// is an error rather than "last wins": `--patroni-version 3.3.2 --images patroni=4.1.5`
    /// must not silently test one of them.
    pub fn from_choices(choices: &[ImageChoice]) -> Result<ImageSet, ImageSetError> {
        let mut set = ImageSet::default();
        let mut seen: Vec<&ImageChoice> = Vec::new();
        for choice in choices {
            if let Some(earlier) = seen.iter().find(|c| c.key() == choice.key() && *c != &choice) {
                return Err(ImageSetError::Conflict {
                    key: choice.key(),
                    first: earlier.value(),
                    second: choice.value(),
                });
            }
            seen.push(choice);
            match choice {
                ImageChoice::Patroni(version) => set.patroni.clone_from(version),
                ImageChoice::Pg(major) => set.pg = *major,
                ImageChoice::Citus(version) => set.citus = Some(*version),
            }
        }
        match set.citus {
            Some(citus) if !citus.supports(set.pg) => Err(ImageSetError::CitusUnsupported { citus, pg: set.pg }),
            _ => Ok(set),
        }
    }

    /// The Citus release the real Citus image of this set installs.
    pub fn citus_version(&self) -> CitusVersion {
        self.citus.unwrap_or(CitusVersion::default_for(self.pg))
    }

    /// For people: `Patroni 4.1.5 on PostgreSQL 17 (Debian trixie)`.
    pub fn describe(&self) -> String {
        format!("Patroni {} on PostgreSQL {} (Debian {})", self.patroni, self.pg, self.pg.suite())
    }
}

/// `patroni=4.1.5,pg=17` (`,citus=13.2` when asked for): what `--images` takes back.
impl fmt::Display for ImageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "patroni={},pg={}", self.patroni, self.pg)?;
        match self.citus {
            Some(citus) => write!(f, ",citus={citus}"),
            None => Ok(()),
        }
    }
}

/// One `KEY=VALUE` of `--images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChoice {
    /// `patroni=<version>`.
    Patroni(String),
    /// `pg=<major>`.
    Pg(PgMajor),
    /// `citus=<major.minor>`.
    Citus(CitusVersion),
}

impl ImageChoice {
    fn key(&self) -> &'static str {
        match self {
            ImageChoice::Patroni(_) => "patroni",
            ImageChoice::Pg(_) => "pg",
            ImageChoice::Citus(_) => "citus",
        }
    }

    fn value(&self) -> String {
        match self {
            ImageChoice::Patroni(v) => v.clone(),
            ImageChoice::Pg(m) => m.to_string(),
            ImageChoice::Citus(v) => v.to_string(),
        }
    }
}

impl FromStr for ImageChoice {
    type Err = ImageSetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(ImageSetError::NotKeyValue { text: text.to_string() });
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "patroni" => {
                if is_version(value) {
                    Ok(ImageChoice::Patroni(value.to_string()))
                } else {
                    Err(ImageSetError::BadPatroniVersion { value: value.to_string() })
                }
            }
            "pg" | "postgres" | "postgresql" => PgMajor::from_number(value)
                .map(ImageChoice::Pg)
                .ok_or_else(|| ImageSetError::UnsupportedPgMajor { value: value.to_string() }),
            "citus" => value.parse().map(ImageChoice::Citus),
            _ => Err(ImageSetError::UnknownKey { key: key.to_string() }),
        }
    }
}

/// A PEP 440-looking version: it starts with a digit and holds nothing a pip requirement would
/// read as an operator, a second requirement or an option.
fn is_version(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_' | '!'))
}

/// Why `--images` was not understood. Each message lists what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageSetError {
    /// Not `KEY=VALUE`.
    #[error("failed to read image choice `{text}`: expected KEY=VALUE, one of {IMAGE_KEYS_HELP}")]
    NotKeyValue {
        /// What was given.
        text: String,
    },
    /// A key other than `patroni` or `pg`.
    #[error("unknown image key `{key}`: allowed are {IMAGE_KEYS_HELP}")]
    UnknownKey {
        /// The key given.
        key: String,
    },
    /// A major Debian does not ship in a suite pgdrill builds.
    #[error(
        "unsupported PostgreSQL major `pg={value}`: allowed are 15 (Debian bookworm's postgresql-15) and 17 \
         (Debian trixie's postgresql-17)"
    )]
    UnsupportedPgMajor {
        /// The value given.
        value: String,
    },
    /// Not a version pip can be asked for.
    #[error("invalid Patroni version `patroni={value}`: expected a release as published on PyPI, e.g. 3.3.2 or 4.1.5")]
    BadPatroniVersion {
        /// The value given.
        value: String,
    },
    /// Not `major.minor`.
    #[error("invalid Citus version `citus={value}`: expected a release line major.minor, e.g. 12.1 or 13.2")]
    BadCitusVersion {
        /// The value given.
        value: String,
    },
    /// A Citus release the Citus project does not ship for the set's PostgreSQL major.
    #[error(
        "Citus {citus} does not support PostgreSQL {pg}: Citus 11.1-11.3 and 12.x run on 15, 13.x on 15 and 17 \
         (Patroni recommends Citus >= 11.2)"
    )]
    CitusUnsupported {
        /// The release asked for.
        citus: CitusVersion,
        /// The set's major.
        pg: PgMajor,
    },
    /// A Citus release other than the one the stand-in imitates, without `--citus real`.
    #[error(
        "citus={citus} needs `--citus real`: the stand-in (NOT Citus) imitates Citus {} only; the real image \
         installs {}",
        CitusVersion::STANDIN,
        .citus.package(*.pg)
    )]
    StandinIsNotThatVersion {
        /// The release asked for.
        citus: CitusVersion,
        /// The set's major.
        pg: PgMajor,
    },
    /// The same key twice with different values (also `--patroni-version` against `patroni=`).
    #[error("conflicting image choices: {key}={first} and {key}={second}; give {key} once")]
    Conflict {
        /// The key.
        key: &'static str,
        /// The first value.
        first: String,
        /// The other value.
        second: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn set(text: &str) -> Result<ImageSet, ImageSetError> {
        let choices: Vec<ImageChoice> = text.split(',').map(str::parse).collect::<Result<_, _>>()?;
        ImageSet::from_choices(&choices)
    }

    #[test_case("", "patroni=4.1.5,pg=15" ; "nothing is the default")]
    #[test_case("patroni=3.3.2", "patroni=3.3.2,pg=15" ; "patroni only")]
    #[test_case("pg=17", "patroni=4.1.5,pg=17" ; "pg only")]
    #[test_case("patroni=4.1.5, pg=17", "patroni=4.1.5,pg=17" ; "spaces")]
    #[test_case("pg=17,patroni=4.0.0rc1", "patroni=4.0.0rc1,pg=17" ; "any order and pre-releases")]
    #[test_case("pg=15,pg=15", "patroni=4.1.5,pg=15" ; "the same choice twice")]
    #[test_case("citus=13.2", "patroni=4.1.5,pg=15,citus=13.2" ; "a Citus release")]
    #[test_case("citus=12.1,pg=15", "patroni=4.1.5,pg=15,citus=12.1" ; "12.1 on 15")]
    #[test_case("pg=17,citus=13.0", "patroni=4.1.5,pg=17,citus=13.0" ; "13.0 on 17")]
    fn valid_sets(text: &str, expected: &str) {
        let choices: Vec<ImageChoice> = text.split(',').filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect();
        let parsed = ImageSet::from_choices(&choices).unwrap();
        assert_eq!(parsed.to_string(), expected);
        // Display round-trips.
        assert_eq!(set(&parsed.to_string()).unwrap(), parsed);
    }

    #[test_case("pg=16", "unsupported PostgreSQL major `pg=16`: allowed are 15" ; "pg 16")]
    #[test_case("pg=latest", "unsupported PostgreSQL major `pg=latest`" ; "pg not a number")]
    #[test_case("postgis=3", "unknown image key `postgis`: allowed are patroni=" ; "unknown key")]
    #[test_case("patroni", "failed to read image choice `patroni`: expected KEY=VALUE, one of patroni=" ; "no value")]
    #[test_case("patroni=>=4", "invalid Patroni version `patroni=>=4`" ; "an operator")]
    #[test_case("patroni=4.1.5 psycopg2", "invalid Patroni version" ; "a second requirement")]
    #[test_case("patroni=", "invalid Patroni version `patroni=`" ; "empty version")]
    #[test_case("pg=15,pg=17", "conflicting image choices: pg=15 and pg=17; give pg once" ; "conflict")]
    #[test_case("citus=13", "invalid Citus version `citus=13`: expected a release line major.minor" ; "no minor")]
    #[test_case("citus=13.2.2", "invalid Citus version `citus=13.2.2`" ; "a patch release")]
    #[test_case("citus=+1.2", "invalid Citus version `citus=+1.2`" ; "a sign")]
    #[test_case("pg=17,citus=12.1", "Citus 12.1 does not support PostgreSQL 17" ; "12.1 on 17")]
    #[test_case("citus=10.2", "Citus 10.2 does not support PostgreSQL 15" ; "too old")]
    fn invalid_sets(text: &str, message: &str) {
        let error = set(text).unwrap_err().to_string();
        assert!(error.starts_with(message), "{error}");
    }

    #[test]
    fn majors_map_to_suites_and_bin_dirs() {
        assert_eq!(PgMajor::Pg15.suite(), DebianSuite::Bookworm);
        assert_eq!(PgMajor::Pg17.suite(), DebianSuite::Trixie);
        assert_eq!(PgMajor::Pg17.bin_dir(), "/usr/lib/postgresql/17/bin");
        assert_eq!(set("pg=17").unwrap().describe(), "Patroni 4.1.5 on PostgreSQL 17 (Debian trixie)");
    }

    #[test]
    fn the_citus_release_defaults_to_the_majors_and_names_its_package() {
        assert_eq!(set("pg=15").unwrap().citus_version().package(PgMajor::Pg15), "postgresql-15-citus-12.1");
        assert_eq!(set("pg=17").unwrap().citus_version().package(PgMajor::Pg17), "postgresql-17-citus-13.0");
        assert_eq!(set("citus=13.2").unwrap().citus_version().package(PgMajor::Pg15), "postgresql-15-citus-13.2");
        assert!(CitusVersion { major: 14, minor: 0 }.supports(PgMajor::Pg17), "newer releases are let through");
    }
}
