//! The monitoring section's rule files: paths that stay inside the scenario's repository (the
//! nearest directory holding `.git`, else the scenario's own directory) unless the user allows
//! otherwise, files that parse as rule files (without ever quoting a file that is not one), the
//! alert names they define, and a scrape interval and time compression that make sense.
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::{At, Checker};
use crate::scenario::model::Monitoring;
use crate::scenario::snippet::shown;
use crate::scenario::source::LoadedScenario;

/// Scrape and evaluation intervals pgdrill runs: below this Prometheus measures itself, above
/// it an alert takes longer than any drill's budget.
pub(super) const SCRAPE_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(60);

/// Where rule paths of a scenario may lead: the nearest ancestor of the scenario's directory
/// that holds `.git` (a directory, or a file in a git worktree), else that directory itself.
pub fn rule_root(scenario: &Path) -> PathBuf {
    let dir = scenario_dir(scenario);
    let dir = dir.canonicalize().unwrap_or(dir);
    dir.ancestors().find(|ancestor| ancestor.join(".git").exists()).unwrap_or(&dir).to_path_buf()
}

fn scenario_dir(scenario: &Path) -> PathBuf {
    match scenario.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The rule file `written` in the scenario at `scenario` names: relative to the scenario's
/// directory, and (unless `allow_outside`) inside [`rule_root`]. The error says why not, without
/// reading the file.
pub fn resolve_rule_path(scenario: &Path, written: &str, allow_outside: bool) -> Result<PathBuf, String> {
    let joined = scenario_dir(scenario).join(written);
    if allow_outside {
        return Ok(joined);
    }
    if Path::new(written).is_absolute() {
        return Err("is an absolute path".into());
    }
    let root = rule_root(scenario);
    // Resolved without touching the file when it does not exist, so `../../x` is refused
    // whether or not x exists; symbolic links are followed when it does.
    let resolved = joined.canonicalize().unwrap_or_else(|_| lexical(&scenario_dir(scenario), written));
    if resolved.starts_with(&root) {
        Ok(joined)
    } else {
        Err(format!("leads outside the scenario's repository {}", root.display()))
    }
}

/// `base/written` with `.` and `..` applied to the canonical `base`.
fn lexical(base: &Path, written: &str) -> PathBuf {
    let mut path = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    for component in Path::new(written).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(part) => path.push(part),
            _ => {}
        }
    }
    path
}

/// The error and its causes on one line (`failed to read the rule file: No such file…`).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        // A wrapper's message often includes its cause's; say each thing once.
        let said = error.to_string();
        if !text.contains(&said) {
            text.push_str(&format!(": {said}"));
        }
        cause = error.source();
    }
    text
}

impl Checker<'_> {
    /// Loads the monitoring rule files: each must be a rule file where the scenario may read,
    /// and the alert names they define are what `alert` expectations may name.
    pub(super) fn rule_files(&mut self, loaded: &LoadedScenario, allow_outside: bool) {
        let Some(monitoring) = &loaded.scenario.topology.monitoring else { return };
        let mut names = std::collections::BTreeSet::new();
        for (i, rules) in monitoring.rules.iter().enumerate() {
            let path = format!("topology.monitoring.rules.{i}");
            let written = shown(&rules.value);
            let file = match resolve_rule_path(&loaded.path, &rules.value, allow_outside) {
                Ok(file) => file,
                Err(why) => {
                    self.report(
                        &path,
                        At::Value,
                        format!("rule file `{written}` {why}"),
                        "outside the repository",
                        Some(
                            "rule paths are relative to the scenario file and stay inside its repository (the \
                             nearest directory holding `.git`); `--allow-outside-rules` allows others"
                                .into(),
                        ),
                    );
                    continue;
                }
            };
            match crate::monitoring::load_rule_file(&file) {
                Ok(file) => names.extend(file.alerts().into_iter().map(|a| a.name)),
                Err(e) => self.report(
                    &path,
                    At::Value,
                    format!("rule file `{written}`: {}", with_causes(&e)),
                    "cannot use this rule file",
                    Some("paths are relative to the scenario file".into()),
                ),
            }
        }
        self.monitoring_values(monitoring);
        self.alerts = Some(names);
    }

    fn monitoring_values(&mut self, monitoring: &Monitoring) {
        if !(monitoring.for_scale > 0.0 && monitoring.for_scale <= 1.0) {
            self.report(
                "topology.monitoring.for_scale",
                At::Value,
                format!("for_scale {} is out of range", monitoring.for_scale),
                "not in (0, 1]",
                Some("0.1 drills a `for: 2m` alert in 12s; 1 keeps the rules as they are".into()),
            );
        }
        let plain_label = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if let Some(name) = monitoring.cluster_name.as_deref().filter(|name| !plain_label(name)) {
            self.report(
                "topology.monitoring.cluster_name",
                At::Value,
                format!("`cluster_name: {}` is not a plain label value", shown(name)),
                "letters, digits, `_`, `.` and `-`",
                Some("the value your relabelling gives the `cluster_name` label, e.g. `citusdemo`".into()),
            );
        }
        let interval = monitoring.interval;
        if !SCRAPE_INTERVAL.contains(&interval.0) {
            let path = "topology.monitoring.interval";
            let written = self.index.as_ref().and_then(|index| index.get(path)?.scalar.as_deref().map(shown));
            let written = written.unwrap_or_else(|| interval.to_string());
            self.report(
                path,
                At::Value,
                format!("`interval: {written}` is out of range: pgdrill scrapes every 100ms to 1m"),
                "100ms to 1m",
                Some("1s (the default) is right for drills; `for_scale` compresses the rules' own times".into()),
            );
        }
    }
}
