//! Alert-rule drills: the monitoring stack the users run beside Patroni (Prometheus scraping
//! Patroni's `/metrics` and postgres_exporter, Alertmanager), their alert rules checked with
//! promtool, time-compressed for a drill (`for_scale`), and observed while faults happen.
//!
//! This module provides the pieces (rule files, configuration, container specs, the promtool
//! check, readiness waits, the alert observer, coverage, blind spots per fault); the engine decides when to start and
//! stop them. Like the other observers, the alert observer only reports what it sees: it never
//! acts on the cluster.
mod alerts;
pub mod api;
pub mod blind_spots;
mod blind_spots_query;
pub mod config;
mod coverage;
mod error;
pub mod known_metrics;
pub mod latency;
pub mod pooling;
pub mod promql;
mod promtool;
mod ready;
pub mod rules;
pub mod stack;

#[cfg(test)]
mod live_tests;

pub use alerts::{AlertChange, AlertObserver, AlertSink, AlertSource, AlertState};
pub use blind_spots_query::blind_spots;
pub use coverage::{classify, coverage, AlertCoverage, AlertOutcome};
pub use error::{ApiError, PromtoolError, PromtoolProblem, RuleFileError, RuleFileErrorKind};
pub use promtool::{check_rules, PromtoolReport};
pub use ready::{wait_alertmanager_ready, wait_prometheus_ready, wait_targets_up};
pub use rules::{load_rule_file, parse_rule_file, AlertRule, RuleFile, ScaleOptions, ScaledValue};
