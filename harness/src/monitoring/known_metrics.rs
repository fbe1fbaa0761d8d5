//! Which metric names the scrape targets of a pgdrill topology produce, and the rules that read
//! any other name: such a rule can never see a series, so it can never fire (the users' guide's
//! `patroni_timeline` FailoverDetected is the example). `pgdrill validate` and `run` warn about
//! them before any container starts; it is a warning, not an error, because a rule file may
//! well be meant for a larger setup (node_exporter, kube-state-metrics) than the drill's.
//!
//! The names come from `exporter_metrics.txt`, generated from a real scrape (see its header),
//! not from documentation; every monitoring run compares it with what Prometheus really saw
//! ([`check_list`]), so a list that has gone stale shows up in the report and in the tests.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::promql::metric_names;
use super::rules::{RuleFile, RuleKind};

/// The checked-in list: `[job]` sections of metric names, `#` comments.
const SHIPPED: &str = include_str!("exporter_metrics.txt");

/// The section of names Prometheus writes itself (`up`, `ALERTS`, ...), present whatever it scrapes.
pub const PROMETHEUS_SECTION: &str = "prometheus";

/// The section of names only a Citus topology's exporters produce: pgdrill's custom queries on
/// the Citus catalogs (`pg_dist_node`, `pg_dist_placement`, …), which return rows only there.
pub const CITUS_SECTION: &str = "citus";

/// Metric names by the job (or `prometheus`) that produces them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownMetrics {
    /// Job name → metric names.
    pub by_job: BTreeMap<String, BTreeSet<String>>,
}

impl KnownMetrics {
    /// The list shipped with pgdrill (`kind: patroni` topologies with two or more members).
    pub fn shipped() -> Self {
        Self::parse(SHIPPED)
    }

    /// The names a topology's targets produce: the shipped list, with its Citus section only
    /// on a Citus topology.
    pub fn for_topology(citus: bool) -> Self {
        let mut known = Self::shipped();
        if !citus {
            known.by_job.remove(CITUS_SECTION);
        }
        known
    }

    /// Parses the list format: `[job]` starts a section, other non-empty lines not starting
    /// with `#` are names of the current section.
    pub fn parse(text: &str) -> Self {
        let mut by_job: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut job = String::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                job = name.to_string();
                continue;
            }
            by_job.entry(job.clone()).or_default().insert(line.to_string());
        }
        Self { by_job }
    }

    /// Whether any job produces `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.by_job.values().any(|names| names.contains(name))
    }

    /// Every name, of every job.
    pub fn all(&self) -> BTreeSet<String> {
        self.by_job.values().flatten().cloned().collect()
    }
}

/// A rule that reads a metric no scrape target of the topology produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownMetric {
    /// The alert name, or the recorded series' name.
    pub rule: String,
    /// The user's rule file.
    pub file: PathBuf,
    /// Line of the rule in it.
    pub line: usize,
    /// The metric name nobody produces.
    pub metric: String,
    /// Why, when pgdrill knows more (e.g. a Citus query that needs Citus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: rule {} reads `{}`, which no exporter of this topology produces",
            self.file.display(),
            self.line,
            self.rule,
            self.metric
        )?;
        match &self.hint {
            Some(hint) => write!(f, " ({hint})"),
            None => write!(f, "; it cannot fire here"),
        }
    }
}

/// Every (rule, metric) of `files` whose metric is neither in `known` nor recorded by a
/// recording rule of `files`. `hints` explains names pgdrill knows to be conditional.
pub fn unknown_metrics(
    files: &[RuleFile],
    known: &KnownMetrics,
    hints: &BTreeMap<String, String>,
) -> Vec<UnknownMetric> {
    let recorded: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| &f.groups)
        .flat_map(|g| &g.rules)
        .filter(|r| r.kind == RuleKind::Record)
        .map(|r| r.name.as_str())
        .collect();
    let mut out = Vec::new();
    for file in files {
        for rule in file.groups.iter().flat_map(|g| &g.rules) {
            for metric in metric_names(&rule.expr) {
                if known.contains(&metric) || recorded.contains(metric.as_str()) {
                    continue;
                }
                out.push(UnknownMetric {
                    rule: rule.name.clone(),
                    file: file.path.clone(),
                    line: rule.line,
                    hint: hints.get(&metric).cloned(),
                    metric,
                });
            }
        }
    }
    out
}

/// The list against the names Prometheus saw in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCheck {
    /// Listed names that never appeared: the list is stale (or the run too short to see them).
    pub missing: Vec<String>,
    /// Names that appeared and are not listed: rules reading them get a false warning.
    pub unlisted: Vec<String>,
}

/// Compares `known` with `seen` (the `__name__` values of a run's series).
pub fn check_list(known: &KnownMetrics, seen: &BTreeSet<String>) -> ListCheck {
    let listed = known.all();
    ListCheck {
        missing: listed.difference(seen).cloned().collect(),
        unlisted: seen.difference(&listed).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use indoc::indoc;

    use super::*;
    use crate::monitoring::parse_rule_file;

    #[test]
    fn the_shipped_list_has_every_job_and_what_our_rules_read() {
        let known = KnownMetrics::shipped();
        assert_eq!(
            known.by_job.keys().map(String::as_str).collect::<Vec<_>>(),
            [CITUS_SECTION, "patroni", "postgres-exporter", PROMETHEUS_SECTION]
        );
        assert!(KnownMetrics::for_topology(true).contains("citus_worker_nodes_is_active"));
        assert!(!KnownMetrics::for_topology(false).contains("citus_worker_nodes_is_active"), "only Citus has it");
        for name in ["patroni_postgres_running", "patroni_postgres_timeline", "pg_up", "up", "ALERTS"] {
            assert!(known.contains(name), "{name}");
        }
        assert!(known.contains("pg_replication_standby_lag_seconds"), "our HighReplicationLag query");
        // Names the users' guide uses that Patroni 4.1.5 / postgres_exporter 0.11 do not produce.
        for name in ["patroni_timeline", "pg_replication_lag", "pg_stat_replication_replay_lag", "pg_cache_hit_ratio"] {
            assert!(!known.contains(name), "{name}");
        }
    }

    #[test]
    fn parse_reads_sections_and_skips_comments() {
        let known = KnownMetrics::parse("# header\n[a]\nx\n\n y \n[b]\n# c\nz\n");
        assert_eq!(known.by_job["a"], BTreeSet::from(["x".to_string(), "y".to_string()]));
        assert_eq!(known.by_job["b"], BTreeSet::from(["z".to_string()]));
    }

    #[test]
    fn rules_reading_unknown_metrics_are_reported_with_their_line() {
        let file = parse_rule_file(
            Path::new("guide.yaml"),
            indoc! {r#"
                groups:
                  - name: g
                    rules:
                      - record: job:lag:max
                        expr: max by (job) (pg_replication_lag)
                      - alert: FailoverDetected
                        expr: increase(patroni_timeline[5m]) > 0
                      - alert: Lag
                        expr: job:lag:max > 10 and on() up == 1
                      - alert: Workers
                        expr: citus_worker_nodes_is_active == 0
            "#},
        )
        .unwrap();
        let known = KnownMetrics::parse("[prometheus]\nup\n");
        let hints = BTreeMap::from([("citus_worker_nodes_is_active".to_string(), "needs Citus".to_string())]);
        let unknown = unknown_metrics(&[file], &known, &hints);
        let found: Vec<(&str, usize, &str)> =
            unknown.iter().map(|u| (u.rule.as_str(), u.line, u.metric.as_str())).collect();
        // job:lag:max is recorded by the file itself, `up` is known.
        assert_eq!(
            found,
            [
                ("job:lag:max", 4, "pg_replication_lag"),
                ("FailoverDetected", 6, "patroni_timeline"),
                ("Workers", 10, "citus_worker_nodes_is_active")
            ]
        );
        assert_eq!(
            unknown[1].to_string(),
            "guide.yaml:6: rule FailoverDetected reads `patroni_timeline`, which no exporter of this topology \
             produces; it cannot fire here"
        );
        assert!(unknown[2].to_string().ends_with("(needs Citus)"), "{}", unknown[2]);
    }

    #[test]
    fn list_check_finds_missing_and_unlisted_names() {
        let known = KnownMetrics::parse("[a]\nx\ny\n[b]\nz\n");
        let seen = BTreeSet::from(["x".to_string(), "z".to_string(), "new".to_string()]);
        assert_eq!(check_list(&known, &seen), ListCheck { missing: vec!["y".into()], unlisted: vec!["new".into()] });
    }
}
