//! Errors of the monitoring layer: rule files that cannot be used (pointing at the user's
//! `file:line:col`), rule files promtool rejects or that are too large to hand to a container, and
//! Prometheus/Alertmanager API failures.
use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::runtime::RuntimeError;
use crate::wait::WaitTimeout;

/// A rule file could not be read or is not a rule file pgdrill can use.
#[derive(Debug, Error)]
#[error("{}: {kind}", Located { path: path.display(), line: *line, column: *column })]
pub struct RuleFileError {
    /// The file as the user named it.
    pub path: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    #[source]
    pub kind: RuleFileErrorKind,
}

/// `path:line:col`, leaving out what is unknown.
struct Located<P> {
    path: P,
    line: usize,
    column: usize,
}

impl<P: fmt::Display> fmt::Display for Located<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.path),
            (line, 0) => write!(f, "{}:{line}", self.path),
            (line, column) => write!(f, "{}:{line}:{column}", self.path),
        }
    }
}

/// What is wrong with a rule file.
#[derive(Debug, Error)]
pub enum RuleFileErrorKind {
    /// The file could not be read (missing, unreadable, too large).
    #[error("failed to read the rule file")]
    Io(#[source] std::io::Error),
    /// Not YAML, or YAML that does not have the shape of a rule file (unknown key, wrong type).
    #[error("{0}")]
    Yaml(String),
    /// Neither `groups:` nor a `PrometheusRule` manifest.
    #[error(
        "not a rule file: expected a Prometheus rule file (`groups:` at the top) or a Kubernetes PrometheusRule \
         manifest (`kind: PrometheusRule` with `spec.groups`){found}"
    )]
    NotARuleFile {
        /// What was found instead, without quoting the file (`, found no mapping`), or empty.
        found: String,
    },
    /// A key Prometheus would reject.
    #[error("unknown key `{key}` {place}, expected one of: {expected}")]
    UnknownKey {
        /// The key.
        key: String,
        /// Where (`at the top of the file`).
        place: &'static str,
        /// The allowed keys.
        expected: &'static str,
    },
    /// A duration Prometheus would not parse.
    #[error(
        "invalid duration `{value}` for `{field}`: expected a Prometheus duration such as 30s, 5m, 1h30m \
         (units y w d h m s ms, largest first, whole numbers)"
    )]
    Duration {
        /// The key (`for`, `interval`, ...).
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A rule that is neither an alerting nor a recording rule, or both.
    #[error("a rule needs exactly one of `alert:` (an alerting rule) and `record:` (a recording rule)")]
    RuleKind,
    /// `for`, `keep_firing_for`, `annotations` are for alerting rules only.
    #[error("`{field}` is only allowed in alerting rules, and `{record}` is a recording rule")]
    AlertOnlyField {
        /// The key.
        field: &'static str,
        /// The recording rule's name.
        record: String,
    },
    /// The file holds no rule group at all.
    #[error("the file has no rule groups")]
    Empty,
}

/// Rule files promtool rejected, or promtool could not be run.
#[derive(Debug, Error)]
pub enum PromtoolError {
    /// promtool ran and rejected at least one file.
    #[error(
        "promtool rejected the alert rules ({} problem(s)):\n{}",
        problems.len(),
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    Rejected {
        /// Every problem, in promtool's order.
        problems: Vec<PromtoolProblem>,
    },
    /// The check container could not be run.
    #[error("failed to run promtool: {0}")]
    Runtime(#[from] RuntimeError),
    /// The check did not finish in time.
    #[error(transparent)]
    TimedOut(#[from] WaitTimeout),
    /// promtool failed without saying which file was wrong.
    #[error("promtool failed (exit code {exit_code}) without naming a problem; its output:\n{output}")]
    Failed {
        /// Exit code.
        exit_code: i64,
        /// Everything it printed.
        output: String,
    },
    /// A rule file is too large to pass to a container in an environment variable.
    #[error(transparent)]
    TooLarge(#[from] EnvTooLarge),
}

/// A configuration too large for an environment variable.
#[derive(Debug, Error)]
#[error(
    "{what} is {bytes} bytes, more than the {limit} bytes Linux allows in one environment variable; \
     split it into several rule files"
)]
pub struct EnvTooLarge {
    /// What it is (`rule file citus-alerts.yaml`).
    pub what: String,
    /// Its size.
    pub bytes: usize,
    /// The limit.
    pub limit: usize,
}

/// One problem promtool found, mapped back to the user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromtoolProblem {
    /// The user's file.
    pub path: PathBuf,
    /// Line of the rule (or group) the problem is about in the user's file, 0 when unknown.
    pub line: usize,
    /// The rule's group, when promtool named it.
    pub group: Option<String>,
    /// The alert or record name, when promtool named it.
    pub rule: Option<String>,
    /// promtool's message (without the file name and rule prefix).
    pub message: String,
}

impl fmt::Display for PromtoolProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", Located { path: self.path.display(), line: self.line, column: 0 })?;
        match (&self.group, &self.rule) {
            (Some(group), Some(rule)) => write!(f, "group {group:?}, rule {rule:?}: ")?,
            (Some(group), None) => write!(f, "group {group:?}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// A Prometheus or Alertmanager HTTP API call failed.
#[derive(Debug, Error)]
pub enum ApiError {
    /// No answer, or not HTTP 2xx.
    #[error("failed to query {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What happened (connection refused, timeout, HTTP 400 with Prometheus's error text).
        reason: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from {url}: {reason}")]
    Decode {
        /// The URL.
        url: String,
        /// What did not match.
        reason: String,
    },
}
