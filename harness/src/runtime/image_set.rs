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
pub const IMAGE_KEYS_HELP: &str =
    "patroni=<version on PyPI, e.g. 3.3.2 or 4.1.5>, pg=<PostgreSQL major: 15 (Debian bookworm) or 17 (Debian trixie)>";

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

/// The Patroni version and PostgreSQL major a run's Patroni image is built with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSet {
    /// Patroni version installed from PyPI (`pip install patroni[etcd3]==<this>`).
    pub patroni: String,
    /// PostgreSQL major (decides the Debian suite of the Patroni image).
    pub pg: PgMajor,
}

impl Default for ImageSet {
    fn default() -> Self {
        ImageSet { patroni: DEFAULT_PATRONI_VERSION.to_string(), pg: PgMajor::default() }
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
            }
        }
        Ok(set)
    }

    /// For people: `Patroni 4.1.5 on PostgreSQL 17 (Debian trixie)`.
    pub fn describe(&self) -> String {
        format!("Patroni {} on PostgreSQL {} (Debian {})", self.patroni, self.pg, self.pg.suite())
    }
}

/// `patroni=4.1.5,pg=17`: what `--images` takes back.
impl fmt::Display for ImageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "patroni={},pg={}", self.patroni, self.pg)
    }
}

/// One `KEY=VALUE` of `--images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChoice {
    /// `patroni=<version>`.
    Patroni(String),
    /// `pg=<major>`.
    Pg(PgMajor),
}

impl ImageChoice {
    fn key(&self) -> &'static str {
        match self {
            ImageChoice::Patroni(_) => "patroni",
            ImageChoice::Pg(_) => "pg",
        }
    }

    fn value(&self) -> String {
        match self {
            ImageChoice::Patroni(v) => v.clone(),
            ImageChoice::Pg(m) => m.to_string(),
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
}
