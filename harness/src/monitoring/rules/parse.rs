//! Reading a rule file: a Prometheus rule file (`groups:`) or Kubernetes PrometheusRule
//! manifests (their `spec.groups`), as strictly as Prometheus (unknown keys are errors), with
//! errors at the user's `file:line:col`.
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{Rule, RuleFile, RuleFileFormat, RuleGroup, RuleKind};
use crate::monitoring::error::{RuleFileError, RuleFileErrorKind};
use crate::monitoring::promql::PromDuration;

/// Rule files are written by hand; anything this big is a mistake.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

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
            _ => {
                let found = ", found no mapping".to_string();
                return Err(error(0, 0, RuleFileErrorKind::NotARuleFile { found }));
            }
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
            // Never quote what was found: the file may be anything (a path to a system file), and
            // its content is not ours to print.
            let found = match kind {
                Some(_) => ", found a document of another `kind`",
                None => ", found a mapping without `groups:` or `kind:`",
            }
            .to_string();
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
