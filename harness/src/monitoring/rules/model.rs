//! A loaded rule file: its groups and rules as Prometheus defines them, and the alerting rules
//! with where each is defined (what reports and coverage list).
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::monitoring::promql::PromDuration;

/// Which format the file was in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFileFormat {
    /// A Prometheus rule file (`groups:` at the top).
    Plain,
    /// One or more Kubernetes `PrometheusRule` manifests; their `spec.groups` are used.
    PrometheusRule {
        /// `metadata.name` of each manifest, in file order (empty when a manifest has none).
        names: Vec<String>,
    },
}

/// A loaded rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// The file as the user named it.
    pub path: PathBuf,
    /// Its format.
    pub format: RuleFileFormat,
    /// The rule groups, in file order.
    pub groups: Vec<RuleGroup>,
    /// Documents of the file that were not PrometheusRule manifests and were skipped
    /// (`document 2: ServiceMonitor citusdemo`), so a report can say so.
    pub skipped: Vec<String>,
}

/// One rule group.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// Group name (unique in a file).
    pub name: String,
    /// Evaluation interval of this group; the global one when `None`.
    pub interval: Option<PromDuration>,
    /// Maximum number of alerts/series a rule may produce (0 or `None`: no limit).
    pub limit: Option<u64>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Line of the group's `name:` in the user's file.
    pub line: usize,
}

/// Alerting or recording rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// `alert:`
    Alert,
    /// `record:`
    Record,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Alerting or recording.
    pub kind: RuleKind,
    /// The alert name, or the name of the recorded series.
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires (alerting rules only).
    pub for_: Option<PromDuration>,
    /// How long a firing alert keeps firing after its expression stops holding (alerting only).
    pub keep_firing_for: Option<PromDuration>,
    /// Labels added to the alert or series.
    pub labels: BTreeMap<String, String>,
    /// Annotations (alerting rules only).
    pub annotations: BTreeMap<String, String>,
    /// Line of `alert:`/`record:` in the user's file.
    pub line: usize,
}

/// An alerting rule, with where it is defined: what reports and coverage list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlertRule {
    /// Alert name (`alertname` label).
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// `for:` (zero when absent: the alert fires at the first evaluation that holds).
    #[serde(rename = "for")]
    pub for_: PromDuration,
    /// Labels the rule adds.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// The user's file.
    pub file: PathBuf,
    /// Line of `alert:` in it.
    pub line: usize,
    /// The rule's group.
    pub group: String,
}

impl RuleFile {
    /// Every alerting rule of the file, in file order.
    pub fn alerts(&self) -> Vec<AlertRule> {
        self.groups
            .iter()
            .flat_map(|group| {
                group.rules.iter().filter(|r| r.kind == RuleKind::Alert).map(|rule| AlertRule {
                    name: rule.name.clone(),
                    expr: rule.expr.clone(),
                    for_: rule.for_.unwrap_or_default(),
                    labels: rule.labels.clone(),
                    annotations: rule.annotations.clone(),
                    file: self.path.clone(),
                    line: rule.line,
                    group: group.name.clone(),
                })
            })
            .collect()
    }

    /// The line in the user's file of rule `index` (1-based, as promtool counts) of `group`,
    /// or of the group itself when `index` is `None`.
    pub fn line_of(&self, group: &str, index: Option<usize>) -> Option<usize> {
        let group = self.groups.iter().find(|g| g.name == group)?;
        match index {
            None => Some(group.line),
            Some(i) => group.rules.get(i.checked_sub(1)?).map(|r| r.line),
        }
    }
}
