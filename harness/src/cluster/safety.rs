//! The cluster file's `safety:` section: when an attached run gives up and heals (writes failing
//! too long, too many members down, a replica lagging too far, a named alert firing) and how long
//! a fault may last. What the conditions mean is declared here; `engine/safety.rs` watches them.
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::file::{ClusterFile, Problem};
use crate::scenario::Budget;

fn default_failed_writes() -> Budget {
    Budget(std::time::Duration::from_secs(30))
}
fn default_members_down() -> usize {
    1
}
fn default_deadline() -> Budget {
    Budget(std::time::Duration::from_secs(120))
}

/// When an attached run stops and heals, and how long a fault may last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// Abort and heal when writes have failed for this long without one succeeding (default 30s).
    #[serde(default = "default_failed_writes")]
    pub failed_writes_for: Budget,
    /// Abort and heal when more members than this are down (not answering Patroni's REST API,
    /// or PostgreSQL not running) at once (default 1).
    #[serde(default = "default_members_down")]
    pub max_members_down: usize,
    /// Every lasting fault is undone at the latest this long after it was applied (default 120s).
    #[serde(default = "default_deadline")]
    pub fault_deadline: Budget,
    /// Abort and heal when a replica is further behind its leader than this (Patroni's `lag` in
    /// `GET /cluster`, WAL bytes); absent: not watched.
    #[serde(default)]
    pub max_replication_lag: Option<Spanned<ByteSize>>,
    /// Abort and heal when one of these alerts fires (Prometheus's firing alerts, or
    /// Alertmanager's active ones when the file names no Prometheus); empty: not watched.
    #[serde(default)]
    pub stop_on_alerts: Vec<Spanned<String>>,
}

impl Default for Safety {
    fn default() -> Self {
        Self {
            failed_writes_for: default_failed_writes(),
            max_members_down: default_members_down(),
            fault_deadline: default_deadline(),
            max_replication_lag: None,
            stop_on_alerts: Vec::new(),
        }
    }
}

impl Safety {
    /// The alert names to stop on.
    pub fn alert_names(&self) -> Vec<String> {
        self.stop_on_alerts.iter().map(|a| a.value.clone()).collect()
    }
}

/// A size in bytes, written as a number of bytes or with a unit as PostgreSQL writes them (`B`,
/// `kB`, `MB`, `GB`, `TB`; 1024-based; `KiB`, `MiB`, `GiB` are the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// The units a size may have, with their factor.
const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("kB", 1 << 10),
    ("KB", 1 << 10),
    ("KiB", 1 << 10),
    ("MB", 1 << 20),
    ("MiB", 1 << 20),
    ("GB", 1 << 30),
    ("GiB", 1 << 30),
    ("TB", 1 << 40),
    ("TiB", 1 << 40),
];

impl ByteSize {
    /// Parses `64MB`, `512 kB`, `1048576`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = (&text[..split], text[split..].trim());
        let allowed = || UNITS.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
        let number: u64 =
            number.parse().map_err(|_| format!("{text:?} is not a size: a whole number and a unit ({})", allowed()))?;
        let factor = match unit {
            "" => 1,
            unit => UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, f)| *f)
                .ok_or_else(|| format!("{unit:?} is not a unit of size; allowed: {}", allowed()))?,
        };
        number.checked_mul(factor).map(ByteSize).ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [("GB", 1u64 << 30), ("MB", 1 << 20), ("kB", 1 << 10)];
        match units.iter().find(|(_, factor)| self.0 >= *factor && self.0.is_multiple_of(*factor)) {
            Some((unit, factor)) => write!(f, "{}{unit}", self.0 / factor),
            None => write!(f, "{}B", self.0),
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 64MB, 512kB or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Everything wrong with the `safety:` section.
pub(super) fn problems(file: &ClusterFile, out: &mut Vec<Problem>) {
    let Some(section) = &file.safety else { return };
    let safety = &section.value;
    if safety.max_members_down == 0 {
        out.push(Problem::at(
            section.referenced,
            "safety.max_members_down is 0: every fault that takes a member down would stop the run at once",
        ));
    }
    if let Some(lag) = safety.max_replication_lag.as_ref().filter(|l| l.value.0 == 0) {
        out.push(Problem::at(
            lag.referenced,
            "safety.max_replication_lag is 0: any write would stop the run; give a size such as 64MB",
        ));
    }
    for name in &safety.stop_on_alerts {
        if name.value.trim().is_empty() {
            out.push(Problem::at(name.referenced, "safety.stop_on_alerts: an alert name is empty"));
        }
    }
    if let Some(first) = safety.stop_on_alerts.first() {
        if file.prometheus.is_none() && file.alertmanager.is_none() {
            out.push(Problem::at(
                first.referenced,
                "safety.stop_on_alerts needs the cluster file's `prometheus:` or `alertmanager:` URL to read \
                 the alerts from; neither is given",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::ByteSize;

    #[test_case("64MB", 64 << 20; "megabytes")]
    #[test_case("512 kB", 512 << 10; "kilobytes with a space")]
    #[test_case("16KiB", 16 << 10; "kibibytes")]
    #[test_case("1048576", 1 << 20; "bytes")]
    #[test_case("2GB", 2 << 30; "gigabytes")]
    fn sizes_parse(text: &str, bytes: u64) {
        assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)));
    }

    #[test_case("64mb", "\"mb\" is not a unit of size; allowed: B, kB"; "a lowercase unit")]
    #[test_case("MB", "is not a size"; "no number")]
    #[test_case("1.5MB", "is not a unit of size"; "a fraction")]
    #[test_case("99999999999TB", "too large"; "an overflow")]
    fn bad_sizes_say_why(text: &str, expected: &str) {
        let error = ByteSize::parse(text).expect_err(text);
        assert!(error.contains(expected), "{error}");
    }

    #[test]
    fn sizes_print_in_their_largest_whole_unit() {
        assert_eq!(ByteSize(64 << 20).to_string(), "64MB");
        assert_eq!(ByteSize(16 << 10).to_string(), "16kB");
        assert_eq!(ByteSize(1500).to_string(), "1500B");
    }
}
