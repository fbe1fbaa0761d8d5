//! What each alert rule did during a run, asked from Prometheus after the run's steps: fired,
//! went pending only, stayed inactive, or could not have fired at all because a series its
//! expression reads never existed (a metric nobody exports, a label value that does not match,
//! e.g. the users' `cluster_name="citusdemo"` against another cluster).
//!
//! The answer comes from Prometheus's own record (`ALERTS` series, `/api/v1/series`) over the
//! run's window, so it does not depend on the alert observer having seen every state.
use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use super::api::PrometheusApi;
use super::error::ApiError;
use super::promql::selectors;
use super::rules::AlertRule;

/// What one alert rule did in the run's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AlertOutcome {
    /// At least one instance fired.
    Fired,
    /// An instance went pending but none reached `for`.
    WentPending,
    /// The expression never held, although every series it reads existed.
    StayedInactive,
    /// The expression could not hold: these selectors matched no series in the window.
    SeriesAbsent {
        /// The selectors with no series (`citus_worker_nodes_is_active`,
        /// `patroni_primary{cluster_name="citusdemo"}`).
        missing: Vec<String>,
    },
}

/// One alert rule's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertCoverage {
    /// Alert name.
    pub alert: String,
    /// The user's rule file.
    pub file: PathBuf,
    /// Line of the rule in it.
    pub line: usize,
    /// What it did.
    #[serde(flatten)]
    pub outcome: AlertOutcome,
    /// The series selectors its expression reads.
    pub selectors: Vec<String>,
}

/// Classifies every alert of `alerts` over the window `start`..`end` (Unix seconds).
///
/// Alerts are found in `ALERTS` by name and by those of the rule's labels that are not
/// templates, so two files defining the same alert name with different labels are told apart;
/// identical name and labels are not (both get the same outcome).
pub async fn coverage(
    api: &PrometheusApi,
    alerts: &[AlertRule],
    start: f64,
    end: f64,
) -> Result<Vec<AlertCoverage>, ApiError> {
    let mut out = Vec::with_capacity(alerts.len());
    for alert in alerts {
        let series = api.series(&alerts_selector(alert), start, end).await?;
        let states: BTreeSet<String> = series.iter().filter_map(|labels| labels.get("alertstate").cloned()).collect();
        let selectors = selectors(&alert.expr);
        let mut missing = Vec::new();
        if states.is_empty() {
            for selector in &selectors {
                if api.series(selector, start, end).await?.is_empty() {
                    missing.push(selector.clone());
                }
            }
        }
        out.push(AlertCoverage {
            alert: alert.name.clone(),
            file: alert.file.clone(),
            line: alert.line,
            outcome: classify(&states, missing),
            selectors,
        });
    }
    Ok(out)
}

/// The outcome from the `alertstate` values seen in `ALERTS` and the selectors found missing.
pub fn classify(states: &BTreeSet<String>, missing: Vec<String>) -> AlertOutcome {
    if states.contains("firing") {
        AlertOutcome::Fired
    } else if states.contains("pending") {
        AlertOutcome::WentPending
    } else if !missing.is_empty() {
        AlertOutcome::SeriesAbsent { missing }
    } else {
        AlertOutcome::StayedInactive
    }
}

/// `ALERTS{alertname="X", severity="critical", ...}` for a rule.
fn alerts_selector(alert: &AlertRule) -> String {
    let mut matchers = vec![format!("alertname={}", promql_string(&alert.name))];
    for (name, value) in &alert.labels {
        if !value.contains("{{") {
            matchers.push(format!("{name}={}", promql_string(value)));
        }
    }
    format!("ALERTS{{{}}}", matchers.join(", "))
}

/// A PromQL double-quoted string (Go escaping, which JSON's is compatible with for this use).
fn promql_string(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialize")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::monitoring::promql::PromDuration;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outcomes() {
        assert_eq!(classify(&set(&["pending", "firing"]), vec![]), AlertOutcome::Fired);
        assert_eq!(classify(&set(&["pending"]), vec![]), AlertOutcome::WentPending);
        assert_eq!(classify(&set(&[]), vec![]), AlertOutcome::StayedInactive);
        assert_eq!(
            classify(&set(&[]), vec!["citus_worker_nodes_is_active".into()]),
            AlertOutcome::SeriesAbsent { missing: vec!["citus_worker_nodes_is_active".into()] }
        );
    }

    #[test]
    fn alerts_are_selected_by_name_and_static_labels() {
        let alert = AlertRule {
            name: "HighReplicationLag".into(),
            expr: "x > 10".into(),
            for_: PromDuration(0),
            labels: BTreeMap::from([("severity".into(), "warning".into()), ("pod".into(), "{{ $labels.pod }}".into())]),
            annotations: BTreeMap::new(),
            file: "r.yaml".into(),
            line: 3,
            group: "g".into(),
        };
        assert_eq!(alerts_selector(&alert), "ALERTS{alertname=\"HighReplicationLag\", severity=\"warning\"}");
    }

    #[test]
    fn coverage_serializes_flat() {
        let coverage = AlertCoverage {
            alert: "CitusWorkerInactive".into(),
            file: "rules/a.yaml".into(),
            line: 7,
            outcome: AlertOutcome::SeriesAbsent { missing: vec!["citus_worker_nodes_is_active".into()] },
            selectors: vec!["citus_worker_nodes_is_active".into()],
        };
        let json = serde_json::to_value(&coverage).unwrap();
        assert_eq!(json["outcome"], "series_absent");
        assert_eq!(json["missing"][0], "citus_worker_nodes_is_active");
        assert_eq!(json["line"], 7);
    }
}
