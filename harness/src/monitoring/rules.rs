//! Alert rule files: read a Prometheus rule file (`groups:`) or a Kubernetes PrometheusRule
//! manifest (its `spec.groups`), list the alerts with where they are defined, compress their
//! time (`for_scale`) and write them back as a plain rule file for the Prometheus container.
//!
//! Parsing is as strict as Prometheus's own (unknown keys are errors) so that a rule file that
//! loads here also loads there, and errors point at the user's `file:line:col`. What an
//! expression means is promtool's business (`promtool`), not this module's.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{RuleFileError, RuleFileErrorKind};
use super::promql::{rewrite_windows, PromDuration, WindowKind};

/// Rule files are written by hand; anything this big is a mistake.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

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

    /// The file as a plain Prometheus rule file, with a header saying where it came from.
    ///
    /// Strings are written as plain scalars only when YAML 1.1 and 1.2 read them the same way
    /// (Prometheus's YAML library would turn a bare `no` into a boolean), multi-line strings as
    /// literal blocks, everything else double-quoted.
    pub fn to_yaml(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        out.push_str("groups:\n");
        for group in &self.groups {
            let _ = writeln!(out, "- name: {}", scalar(&group.name, 2));
            if let Some(interval) = group.interval {
                let _ = writeln!(out, "  interval: {interval}");
            }
            if let Some(limit) = group.limit {
                let _ = writeln!(out, "  limit: {limit}");
            }
            if group.rules.is_empty() {
                out.push_str("  rules: []\n");
                continue;
            }
            out.push_str("  rules:\n");
            for rule in &group.rules {
                let key = match rule.kind {
                    RuleKind::Alert => "alert",
                    RuleKind::Record => "record",
                };
                let _ = writeln!(out, "  - {key}: {}", scalar(&rule.name, 4));
                let _ = writeln!(out, "    expr: {}", scalar(&rule.expr, 4));
                if let Some(for_) = rule.for_ {
                    let _ = writeln!(out, "    for: {for_}");
                }
                if let Some(keep) = rule.keep_firing_for {
                    let _ = writeln!(out, "    keep_firing_for: {keep}");
                }
                for (name, map) in [("labels", &rule.labels), ("annotations", &rule.annotations)] {
                    if map.is_empty() {
                        continue;
                    }
                    let _ = writeln!(out, "    {name}:");
                    for (key, value) in map {
                        let _ = writeln!(out, "      {}: {}", scalar(key, 6), scalar(value, 6));
                    }
                }
            }
        }
        out
    }

    /// A copy with time compressed by `options` (see [`ScaleOptions`]), and what was changed.
    pub fn scaled(&self, options: &ScaleOptions) -> (RuleFile, Vec<ScaledValue>) {
        let mut scaled = self.clone();
        let mut changes = Vec::new();
        for group in &mut scaled.groups {
            let mut record = |rule: Option<&str>, line: usize, what: ScaledField, from, to: (PromDuration, bool)| {
                if to.0 != from {
                    changes.push(ScaledValue {
                        file: self.path.clone(),
                        group: group.name.clone(),
                        rule: rule.map(str::to_string),
                        line,
                        what,
                        from,
                        to: to.0,
                        floored: to.1,
                    });
                }
            };
            if let Some(interval) = group.interval {
                let to = options.scale(interval, options.interval_floor());
                record(None, group.line, ScaledField::GroupInterval, interval, to);
                group.interval = Some(to.0);
            }
            for rule in &mut group.rules {
                if let Some(for_) = rule.for_ {
                    let to = options.scale(for_, options.for_floor());
                    record(Some(&rule.name), rule.line, ScaledField::For, for_, to);
                    rule.for_ = Some(to.0);
                }
                if let Some(keep) = rule.keep_firing_for {
                    let to = options.scale(keep, options.for_floor());
                    record(Some(&rule.name), rule.line, ScaledField::KeepFiringFor, keep, to);
                    rule.keep_firing_for = Some(to.0);
                }
                let mut floored = Vec::new();
                let (expr, windows) = rewrite_windows(&rule.expr, |kind, from| {
                    let floor = match kind {
                        WindowKind::Range => options.range_floor(),
                        WindowKind::Resolution => options.interval_floor(),
                        WindowKind::Offset => PromDuration(0),
                    };
                    let (to, was_floored) = options.scale(from, floor);
                    // rewrite_windows lists the windows that changed, in order: keep the flags
                    // of the same ones.
                    if to != from {
                        floored.push(was_floored);
                    }
                    to
                });
                for (change, was_floored) in windows.into_iter().zip(floored) {
                    record(
                        Some(&rule.name),
                        rule.line,
                        ScaledField::Window(change.kind),
                        change.from,
                        (change.to, was_floored),
                    );
                }
                rule.expr = expr;
            }
        }
        (scaled, changes)
    }
}

/// How to compress time in alert rules for a drill: every `for:`, `keep_firing_for:`, group
/// `interval:`, range window (`[5m]`), subquery range/resolution and `offset` is multiplied by
/// `factor` (0.1: `for: 2m` → `12s`, `[5m]` → `[30s]`), but never below a floor tied to the
/// scrape interval, because a shorter window would make the rule meaningless rather than
/// faster:
/// - range windows ≥ 4 × scrape interval: `rate()`/`increase()` need two samples in the window
///   even when one scrape is late or missed (the usual Prometheus advice);
/// - `for`/`keep_firing_for` ≥ 2 × scrape interval: the pending state lasts at least one
///   evaluation after the first, so a drill can see it;
/// - group `interval` and subquery resolution ≥ 1 × scrape interval (= the evaluation interval
///   pgdrill configures).
///
/// A value the user wrote below its floor stays as written (it is never raised); zero stays
/// zero. Numbers that are durations only by convention (`time() - x > 300`,
/// `predict_linear(x[1h], 3600)`'s 3600) are not touched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleOptions {
    /// The multiplier, > 0 (0.1 makes every window ten times shorter).
    pub factor: f64,
    /// Prometheus's scrape (and evaluation) interval in the drill.
    pub scrape_interval: Duration,
}

impl ScaleOptions {
    /// Options for `factor` (must be finite and > 0) with Prometheus scraping every
    /// `scrape_interval`.
    pub fn new(factor: f64, scrape_interval: Duration) -> Result<Self, String> {
        if !factor.is_finite() || factor <= 0.0 {
            return Err(format!("for_scale must be a number greater than 0, got {factor}"));
        }
        Ok(Self { factor, scrape_interval })
    }

    /// Floor of range windows.
    pub fn range_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval * 4)
    }

    /// Floor of `for` and `keep_firing_for`.
    pub fn for_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval * 2)
    }

    /// Floor of group intervals and subquery resolutions.
    pub fn interval_floor(&self) -> PromDuration {
        PromDuration::from_std(self.scrape_interval)
    }

    /// `value × factor`, rounded to the millisecond, not below `min(value, floor)`; and whether
    /// the floor decided.
    fn scale(&self, value: PromDuration, floor: PromDuration) -> (PromDuration, bool) {
        if value.0 == 0 {
            return (value, false);
        }
        let scaled = PromDuration((value.0 as f64 * self.factor).round() as u64);
        let lowest = floor.min(value);
        if scaled < lowest {
            (lowest, true)
        } else {
            (scaled, false)
        }
    }
}

/// What a scaled value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaledField {
    /// An alert's `for:`.
    For,
    /// An alert's `keep_firing_for:`.
    KeepFiringFor,
    /// A group's `interval:`.
    GroupInterval,
    /// A duration in an expression.
    Window(WindowKind),
}

/// One value `for_scale` changed: the report lists them so a reader knows the drill's alerts
/// ran faster than production's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScaledValue {
    /// The user's file.
    pub file: PathBuf,
    /// The group.
    pub group: String,
    /// The rule, `None` for a group interval.
    pub rule: Option<String>,
    /// Line of the rule (or group) in the user's file.
    pub line: usize,
    /// Which value.
    pub what: ScaledField,
    /// Before.
    #[serde(serialize_with = "as_text")]
    pub from: PromDuration,
    /// After.
    #[serde(serialize_with = "as_text")]
    pub to: PromDuration,
    /// The floor decided (`from × factor` would have been lower).
    pub floored: bool,
}

fn as_text<S: serde::Serializer>(duration: &PromDuration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(duration)
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads and parses the rule file at `path`.
pub fn load_rule_file(path: &Path) -> Result<RuleFile, RuleFileError> {
    let error = |kind| RuleFileError { path: path.to_path_buf(), line: 0, column: 0, kind };
    let file = std::fs::File::open(path).map_err(|e| error(RuleFileErrorKind::Io(e)))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| error(RuleFileErrorKind::Io(e)))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        let too_large = std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is larger than {} KiB, the limit for rule files", MAX_FILE_BYTES / 1024),
        );
        return Err(error(RuleFileErrorKind::Io(too_large)));
    }
    parse_rule_file(path, &text)
}

/// Parses rule file `text`; `path` names it in errors and in the result.
pub fn parse_rule_file(path: &Path, text: &str) -> Result<RuleFile, RuleFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut groups = Vec::new();
    let mut plain = false;
    let mut manifest_names = Vec::new();
    let mut skipped = Vec::new();
    let documents = split_documents(text);
    for (number, (first_line, document)) in documents.iter().enumerate() {
        let error = |line: usize, column: usize, kind| RuleFileError {
            path: path.to_path_buf(),
            line: if line == 0 { 0 } else { line + first_line },
            column,
            kind,
        };
        let yaml_error = |e: serde_saphyr::Error| {
            let location = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            error(location.line() as usize, location.column() as usize, RuleFileErrorKind::Yaml(yaml_message(&e)))
        };
        let shape: serde_json::Value = serde_saphyr::from_str(document).map_err(yaml_error)?;
        let map = match &shape {
            serde_json::Value::Null => continue, // an empty document
            serde_json::Value::Object(map) => map,
            _ => return Err(error(0, 0, RuleFileErrorKind::NotARuleFile { found: String::new() })),
        };
        let kind = map.get("kind").and_then(|k| k.as_str());
        if map.contains_key("groups") && kind.is_none() {
            if plain || !manifest_names.is_empty() {
                // Prometheus reads the first document of a rule file only.
                let kind = RuleFileErrorKind::Yaml(
                    "a Prometheus rule file is one YAML document; put further groups in the first one".into(),
                );
                return Err(error(1, 1, kind));
            }
            if let Some(key) = map.keys().find(|k| *k != "groups") {
                let line = key_line(document, key);
                let kind = RuleFileErrorKind::UnknownKey {
                    key: key.clone(),
                    place: "at the top of the file",
                    expected: "groups",
                };
                return Err(error(line, if line == 0 { 0 } else { 1 }, kind));
            }
            let raw: RawPlain = serde_saphyr::from_str(document).map_err(yaml_error)?;
            for group in raw.groups {
                groups.push(group.into_group(*first_line).map_err(|(l, c, k)| error(l, c, k))?);
            }
            plain = true;
        } else if kind == Some("PrometheusRule") {
            if plain {
                let kind =
                    RuleFileErrorKind::Yaml("a file holds either a rule file or PrometheusRule manifests".into());
                return Err(error(1, 1, kind));
            }
            let raw: RawManifest = serde_saphyr::from_str(document).map_err(yaml_error)?;
            manifest_names.push(raw.metadata.and_then(|m| m.name).unwrap_or_default());
            for group in raw.spec.groups {
                groups.push(group.into_group(*first_line).map_err(|(l, c, k)| error(l, c, k))?);
            }
        } else if let Some(kind) = kind.filter(|_| map.contains_key("apiVersion")) {
            let name = map.get("metadata").and_then(|m| m.get("name")).and_then(|n| n.as_str()).unwrap_or("");
            skipped.push(format!("document {}: {kind} {name}", number + 1).trim_end().to_string());
        } else {
            let found = match kind {
                Some(kind) => format!(", found kind {kind}"),
                None => {
                    let keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
                    format!(", found keys {}", keys.join(", "))
                }
            };
            return Err(error(0, 0, RuleFileErrorKind::NotARuleFile { found }));
        }
    }
    if groups.is_empty() {
        let kind = if plain || !manifest_names.is_empty() {
            RuleFileErrorKind::Empty
        } else {
            RuleFileErrorKind::NotARuleFile { found: String::new() }
        };
        return Err(RuleFileError { path: path.to_path_buf(), line: 0, column: 0, kind });
    }
    let format = if plain { RuleFileFormat::Plain } else { RuleFileFormat::PrometheusRule { names: manifest_names } };
    Ok(RuleFile { path: path.to_path_buf(), format, groups, skipped })
}

/// Splits a multi-document YAML text at `---` lines: (lines before the document, its text).
/// A `---` at column 0 always starts a document (block scalars are indented).
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut first_line = 0;
    for (number, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_marker {
            if !current.trim().is_empty() {
                documents.push((first_line, std::mem::take(&mut current)));
            }
            current.clear();
            // Content after the marker on the same line (`--- {groups: []}`) stays on line 1.
            current.push_str(line.get(4..).unwrap_or_default());
            current.push('\n');
            first_line = number;
        } else if line == "..." {
            documents.push((first_line, std::mem::take(&mut current)));
            first_line = number + 1;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() || documents.is_empty() {
        documents.push((first_line, current));
    }
    documents
}

/// The line (1-based, in `document`) of a top-level `key:`, or 0.
fn key_line(document: &str, key: &str) -> usize {
    document
        .lines()
        .position(|line| {
            line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))
                || line.strip_prefix(&format!("\"{key}\"")).is_some()
                || line.strip_prefix(&format!("'{key}'")).is_some()
        })
        .map_or(0, |n| n + 1)
}

fn yaml_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    // The location is reported separately (and relative to the document, not the file).
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlain {
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawManifest {
    metadata: Option<RawMetadata>,
    spec: RawSpec,
}

#[derive(Deserialize)]
struct RawMetadata {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Spanned<String>,
    interval: Option<Spanned<Scalar>>,
    limit: Option<u64>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    alert: Option<Spanned<String>>,
    record: Option<Spanned<String>>,
    expr: Spanned<Scalar>,
    #[serde(rename = "for")]
    for_: Option<Spanned<Scalar>>,
    keep_firing_for: Option<Spanned<Scalar>>,
    labels: Option<BTreeMap<String, Scalar>>,
    annotations: Option<BTreeMap<String, Scalar>>,
}

/// A YAML scalar read as text, the way Prometheus's YAML library fills a string field
/// (`expr: 1`, `priority: 2`).
#[derive(Debug, Clone)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

type RawError = (usize, usize, RuleFileErrorKind);

impl RawGroup {
    /// The group; its lines are shifted by `first_line`, the lines of the file before this
    /// document (errors are shifted by the caller).
    fn into_group(self, first_line: usize) -> Result<RuleGroup, RawError> {
        let interval = self.interval.map(|i| duration(i, "interval")).transpose()?;
        let mut rules: Vec<Rule> = self.rules.into_iter().map(RawRule::into_rule).collect::<Result<_, _>>()?;
        for rule in &mut rules {
            rule.line += first_line;
        }
        Ok(RuleGroup {
            name: self.name.value,
            interval,
            limit: self.limit,
            rules,
            line: self.name.referenced.line() as usize + first_line,
        })
    }
}

impl RawRule {
    fn into_rule(self) -> Result<Rule, RawError> {
        let expr_at = (self.expr.referenced.line() as usize, self.expr.referenced.column() as usize);
        let (kind, name) = match (self.alert, self.record) {
            (Some(alert), None) => (RuleKind::Alert, alert),
            (None, Some(record)) => (RuleKind::Record, record),
            _ => return Err((expr_at.0, expr_at.1, RuleFileErrorKind::RuleKind)),
        };
        if kind == RuleKind::Record {
            let misplaced = [
                ("for", self.for_.as_ref().map(|f| &f.referenced)),
                ("keep_firing_for", self.keep_firing_for.as_ref().map(|f| &f.referenced)),
            ];
            for (field, at) in misplaced {
                if let Some(at) = at {
                    let kind = RuleFileErrorKind::AlertOnlyField { field, record: name.value.clone() };
                    return Err((at.line() as usize, at.column() as usize, kind));
                }
            }
            if self.annotations.is_some() {
                let kind = RuleFileErrorKind::AlertOnlyField { field: "annotations", record: name.value.clone() };
                return Err((name.referenced.line() as usize, name.referenced.column() as usize, kind));
            }
        }
        let text_map = |m: Option<BTreeMap<String, Scalar>>| -> BTreeMap<String, String> {
            m.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()
        };
        Ok(Rule {
            kind,
            expr: self.expr.value.0,
            for_: self.for_.map(|f| duration(f, "for")).transpose()?,
            keep_firing_for: self.keep_firing_for.map(|f| duration(f, "keep_firing_for")).transpose()?,
            labels: text_map(self.labels),
            annotations: text_map(self.annotations),
            line: name.referenced.line() as usize,
            name: name.value,
        })
    }
}

fn duration(value: Spanned<Scalar>, field: &'static str) -> Result<PromDuration, RawError> {
    PromDuration::parse(&value.value.0).ok_or_else(|| {
        let at = value.referenced;
        (at.line() as usize, at.column() as usize, RuleFileErrorKind::Duration { field, value: value.value.0 })
    })
}

/// A YAML scalar for `value` at nesting `indent` (spaces before the key).
fn scalar(value: &str, indent: usize) -> String {
    if is_plain_safe(value) {
        return value.to_string();
    }
    let printable = value.chars().all(|c| c == '\n' || c == '\t' || !c.is_control());
    if value.contains('\n') && printable {
        let body = value.trim_end_matches('\n');
        let trailing = value.len() - body.len();
        let chomp = match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        };
        // An explicit indentation indicator when the text itself starts with a space.
        let indicator = if body.starts_with(' ') { "2" } else { "" };
        let pad = " ".repeat(indent + 2);
        let mut out = format!("|{indicator}{chomp}");
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        for _ in 1..trailing {
            out.push('\n');
        }
        return out;
    }
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(value).expect("strings always serialize")
}

/// Whether `value` can be written unquoted and reads back as the same string in YAML 1.1 and
/// 1.2 (no booleans, nulls or numbers; no indicator characters).
fn is_plain_safe(value: &str) -> bool {
    const RESERVED: &[&str] =
        &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf", "-inf", ".nan", ".inf"];
    // A letter, `_`, `/` or `(` first: never an indicator, a number or a timestamp. Later
    // characters may be anything printable in block context except the two pairs below.
    let Some(first) = value.chars().next() else { return false };
    if !(first.is_ascii_alphabetic() || "_/(".contains(first)) {
        return false;
    }
    if value.ends_with(' ') || RESERVED.contains(&value.to_ascii_lowercase().as_str()) {
        return false;
    }
    if value.contains(": ") || value.contains(" #") || value.ends_with(':') {
        return false;
    }
    value.chars().all(|c| c == ' ' || c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use indoc::indoc;
    use test_case::test_case;

    use super::*;

    const PLAIN: &str = indoc! {r#"
        groups:
          - name: citus_cluster_alerts
            interval: 30s
            rules:
              - alert: PostgreSQLDown
                expr: patroni_postgres_running == 0
                for: 1m
                labels:
                  severity: critical
                annotations:
                  summary: "PostgreSQL is down"
                  description: "PostgreSQL on {{ $labels.pod }} is not running"
              - record: job:up:sum
                expr: sum by (job) (up)
              - alert: FailoverDetected
                expr: increase(patroni_timeline[5m]) > 0
                for: 1m
                labels:
                  severity: info
              - alert: CitusMetadataNotSynced
                expr: |
                  citus_metadata_sync_nodes_metadata_synced
                  <
                  citus_metadata_sync_node_count
                for: 5m
    "#};

    fn parse(text: &str) -> Result<RuleFile, RuleFileError> {
        parse_rule_file(Path::new("rules/x.yaml"), text)
    }

    #[test]
    fn plain_file_lists_alerts_with_lines() {
        let file = parse(PLAIN).unwrap();
        assert_eq!(file.format, RuleFileFormat::Plain);
        let alerts = file.alerts();
        let summary: Vec<_> = alerts.iter().map(|a| (a.name.as_str(), a.line, a.for_.to_string())).collect();
        assert_eq!(
            summary,
            [
                ("PostgreSQLDown", 5, "1m".into()),
                ("FailoverDetected", 15, "1m".into()),
                ("CitusMetadataNotSynced", 20, "5m".into())
            ]
        );
        let down = &alerts[0];
        assert_eq!(down.expr, "patroni_postgres_running == 0");
        assert_eq!(down.labels["severity"], "critical");
        assert_eq!(down.annotations["description"], "PostgreSQL on {{ $labels.pod }} is not running");
        assert_eq!(down.file, Path::new("rules/x.yaml"));
        assert_eq!(down.group, "citus_cluster_alerts");
        assert_eq!(alerts[2].expr, "citus_metadata_sync_nodes_metadata_synced\n<\ncitus_metadata_sync_node_count\n");
        assert_eq!(file.groups[0].interval, Some(PromDuration(30_000)));
        assert_eq!(file.groups[0].line, 2);
        assert_eq!(file.line_of("citus_cluster_alerts", Some(2)), Some(13));
        assert_eq!(file.line_of("citus_cluster_alerts", None), Some(2));
    }

    #[test]
    fn prometheus_rule_manifest_uses_spec_groups() {
        let text = indoc! {r#"
            apiVersion: v1
            kind: ServiceMonitor
            metadata: {name: other}
            spec: {endpoints: [{port: metrics}]}
            ---
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: citusdemo-alerts
              labels: {prometheus: kube-prometheus}
            spec:
              groups:
                - name: citus
                  rules:
                    - alert: NoPrimaryInCluster
                      expr: sum(patroni_primary) == 0
                      for: 2m
        "#};
        let file = parse(text).unwrap();
        assert_eq!(file.format, RuleFileFormat::PrometheusRule { names: vec!["citusdemo-alerts".into()] });
        assert_eq!(file.skipped, ["document 1: ServiceMonitor other"]);
        let alerts = file.alerts();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].name, "NoPrimaryInCluster");
        assert_eq!(alerts[0].line, 15, "lines count from the top of the file, across documents");
    }

    #[test_case("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        fr: 1m\n", 6, "unknown field `fr`"; "typo in a rule")]
    #[test_case("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 1.5m\n", 6, "invalid duration `1.5m` for `for`"; "bad duration")]
    #[test_case("groups:\n  - name: g\n    rules:\n      - expr: up\n", 4, "exactly one of `alert:`"; "neither alert nor record")]
    #[test_case("groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 1m\n", 6, "only allowed in alerting rules"; "for on a recording rule")]
    #[test_case("groups: []\nrules: []\n", 2, "unknown key `rules` at the top of the file"; "unknown top-level key")]
    #[test_case("kind: ConfigMap\ndata: {}\n", 0, "not a rule file"; "other kind without apiVersion")]
    #[test_case("groups: []\n", 0, "no rule groups"; "empty")]
    #[test_case("groups:\n  - name: g\n    rules: [\n", 3, ""; "broken YAML")]
    fn errors_point_at_the_file(text: &str, line: usize, message: &str) {
        let error = parse(text).unwrap_err();
        assert_eq!(error.line, line, "{error}");
        assert!(error.to_string().contains(message), "{error}");
        assert!(error.to_string().starts_with("rules/x.yaml"), "{error}");
    }

    #[test]
    fn scalars_are_read_as_text() {
        let file =
            parse("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 1\n    labels: {priority: 2, page: true}\n")
                .unwrap();
        let rule = &file.groups[0].rules[0];
        assert_eq!(rule.expr, "1");
        assert_eq!(rule.labels["priority"], "2");
        assert_eq!(rule.labels["page"], "true");
    }

    fn options(factor: f64) -> ScaleOptions {
        ScaleOptions::new(factor, Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn scaling_compresses_for_windows_and_intervals() {
        let file = parse(PLAIN).unwrap();
        let (scaled, changes) = file.scaled(&options(0.1));
        let failover = &scaled.groups[0].rules[2];
        assert_eq!(failover.for_, Some(PromDuration(6_000)));
        assert_eq!(failover.expr, "increase(patroni_timeline[30s]) > 0");
        assert_eq!(scaled.groups[0].interval, Some(PromDuration(3_000)));
        let listed: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{}:{:?}:{}->{}{}",
                    c.rule.as_deref().unwrap_or("-"),
                    c.what,
                    c.from,
                    c.to,
                    if c.floored { " floored" } else { "" }
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                "-:GroupInterval:30s->3s",
                "PostgreSQLDown:For:1m->6s",
                "FailoverDetected:For:1m->6s",
                "FailoverDetected:Window(Range):5m->30s",
                "CitusMetadataNotSynced:For:5m->30s",
            ]
        );
        // The original is untouched, lines stay the user's.
        assert_eq!(file.groups[0].rules[2].expr, "increase(patroni_timeline[5m]) > 0");
        assert_eq!(changes[3].line, 15);
    }

    #[test]
    fn scaling_respects_floors_and_never_raises() {
        let text = "groups:\n- name: g\n  interval: 2s\n  rules:\n  - alert: A\n    expr: rate(x[20s]) > 0 and y[2s]\n    for: 10s\n  - alert: B\n    expr: up\n    for: 0s\n";
        let (scaled, changes) = parse(text).unwrap().scaled(&options(0.01));
        let a = &scaled.groups[0].rules[0];
        assert_eq!(a.expr, "rate(x[4s]) > 0 and y[2s]", "range floor 4 × scrape; 2s was already below it");
        assert_eq!(a.for_, Some(PromDuration(2_000)), "for floor 2 × scrape");
        assert_eq!(scaled.groups[0].interval, Some(PromDuration(1_000)), "interval floor 1 × scrape");
        assert_eq!(scaled.groups[0].rules[1].for_, Some(PromDuration(0)));
        assert!(changes.iter().all(|c| c.floored));
        assert_eq!(changes.len(), 3);
    }

    #[test]
    fn scale_factor_must_be_positive() {
        assert!(ScaleOptions::new(0.0, Duration::from_secs(1)).is_err());
        assert!(ScaleOptions::new(f64::NAN, Duration::from_secs(1)).is_err());
        assert!(ScaleOptions::new(-1.0, Duration::from_secs(1)).is_err());
        assert!(ScaleOptions::new(2.0, Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn written_file_reads_back_the_same() {
        let file = parse(PLAIN).unwrap();
        let (scaled, _) = file.scaled(&options(0.1));
        let yaml = scaled.to_yaml("generated by pgdrill from rules/x.yaml\nfor_scale 0.1");
        assert!(yaml.starts_with("# generated by pgdrill from rules/x.yaml\n# for_scale 0.1\ngroups:\n"), "{yaml}");
        assert!(yaml.contains("    expr: increase(patroni_timeline[30s]) > 0\n"), "{yaml}");
        assert!(yaml.contains("    expr: |\n      citus_metadata_sync_nodes_metadata_synced\n      <\n"), "{yaml}");
        let again = parse(&yaml).unwrap();
        assert_eq!(again.groups.len(), 1);
        for (a, b) in again.groups[0].rules.iter().zip(&scaled.groups[0].rules) {
            assert_eq!(
                (&a.name, &a.expr, a.for_, &a.labels, &a.annotations),
                (&b.name, &b.expr, b.for_, &b.labels, &b.annotations)
            );
        }
    }

    #[test_case("critical", "critical")]
    #[test_case("no", "\"no\"")]
    #[test_case("On", "\"On\"")]
    #[test_case("1", "\"1\"")]
    #[test_case("PostgreSQL is down", "PostgreSQL is down")]
    #[test_case("a: b", "\"a: b\"")]
    #[test_case("{{ $labels.pod }}", "\"{{ $labels.pod }}\"")]
    #[test_case("x # y", "\"x # y\"")]
    #[test_case("", "\"\"")]
    #[test_case("a\nb", "|-\n  a\n  b")]
    #[test_case("a\n\nb\n", "|\n  a\n\n  b")]
    #[test_case(" a\nb\n\n", "|2+\n   a\n  b\n")]
    #[test_case("rate(x{a=\"b\"}[5m]) > 0", "rate(x{a=\"b\"}[5m]) > 0"; "brackets and quotes inside")]
    #[test_case("[x]", "\"[x]\""; "flow indicator first")]
    fn scalars_are_written_safely(value: &str, expected: &str) {
        let written = scalar(value, 0);
        assert_eq!(written, expected);
        let yaml = format!("v: {written}\n");
        let back: BTreeMap<String, String> = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back["v"], value);
    }

    #[test]
    fn shipped_rule_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/pgdrill-alerts.yaml");
        let file = load_rule_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = file.alerts().into_iter().map(|a| a.name).collect();
        for expected in [
            "PostgreSQLDown",
            "NoPrimaryInCluster",
            "HighReplicationLag",
            "CitusWorkerInactive",
            "CitusMetadataNotSynced",
            "FailoverDetected",
            "InactiveShardsDetected",
            "PatroniClusterUnlocked",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
        }
    }
}
