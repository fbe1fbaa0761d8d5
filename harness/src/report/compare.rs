//! Comparing two sets of runs (`pgdrill compare A B`): for each scenario present in both, pair
//! the verdicts by `check@step` and flag what got worse — a measured time more than the tolerance
//! slower in B, or a check that passed in A and does not in B. Pure functions of reports; reading
//! run directories is the only I/O, and printing is the CLI's.
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use comfy_table::{presets::ASCII_FULL_CONDENSED, Cell, CellAlignment, LineStyle, Table, TableStyle};
use serde::{Deserialize, Serialize};

use super::case_names::case_names;
use super::json::{read_json, ReadReportError, REPORT_FILE};
use super::model::{RunImages, RunReport};
use crate::check::Status;

/// The terminal summary's table style: ASCII, a header rule with column junctions.
const STYLE: TableStyle = ASCII_FULL_CONDENSED.header_separator(LineStyle::new('+', '=', '+', '+'));

/// The file `compare` writes.
pub const COMPARE_FILE: &str = "compare.json";

/// How much slower B may be than A before it counts as a regression, as a fraction (0.2 = 20%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance(pub f64);

impl Default for Tolerance {
    fn default() -> Self {
        Self(0.2)
    }
}

impl FromStr for Tolerance {
    type Err = String;

    /// `20%` or `20` (percent).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = s.trim().trim_end_matches('%').trim();
        match number.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(Self(p / 100.0)),
            _ => Err(format!("invalid tolerance `{s}`: expected a percentage such as 20%")),
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// A run read from its report directory.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The run's directory.
    pub dir: PathBuf,
    /// Its report.
    pub report: RunReport,
}

/// The runs found under a path, and what could not be read there.
#[derive(Debug, Default)]
pub struct FoundRuns {
    /// The latest run of each scenario, by scenario name.
    pub runs: BTreeMap<String, LoadedRun>,
    /// Report files that could not be read (another schema version, damaged), with why.
    pub skipped: Vec<ReadReportError>,
}

/// No report could be found or read at a path.
#[derive(Debug, thiserror::Error)]
pub enum FindRunsError {
    /// The path is a run directory (or report file) whose report is unreadable.
    #[error(transparent)]
    Read(#[from] ReadReportError),
    /// The path could not be listed.
    #[error("failed to list {}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Nothing that looks like a run.
    #[error("no {REPORT_FILE} in {} nor in its subdirectories", path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

/// Finds runs at `path`: a `report.json`, a run directory holding one, or a directory of run
/// directories (then the latest run of each scenario, by start time then run id).
pub fn find_runs(path: &Path) -> Result<FoundRuns, FindRunsError> {
    let single = if path.is_file() { Some(path.to_path_buf()) } else { Some(path.join(REPORT_FILE)) };
    if let Some(file) = single.filter(|f| f.is_file()) {
        let report = read_json(&file)?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut found = FoundRuns::default();
        found.runs.insert(report.scenario.clone(), LoadedRun { dir, report });
        return Ok(found);
    }
    let entries = fs::read_dir(path).map_err(|source| FindRunsError::List { path: path.to_path_buf(), source })?;
    let mut found = FoundRuns::default();
    let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let file = dir.join(REPORT_FILE);
        if !file.is_file() {
            continue;
        }
        match read_json(&file) {
            Ok(report) => {
                let newer = found.runs.get(&report.scenario).is_none_or(|current| {
                    (&report.started_at, &report.run_id) > (&current.report.started_at, &current.report.run_id)
                });
                if newer {
                    found.runs.insert(report.scenario.clone(), LoadedRun { dir, report });
                }
            }
            Err(e) => found.skipped.push(e),
        }
    }
    if found.runs.is_empty() && found.skipped.is_empty() {
        return Err(FindRunsError::Empty { path: path.to_path_buf() });
    }
    Ok(found)
}

/// Why a verdict counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regression {
    /// B measured more than the tolerance above A.
    Slower,
    /// A passed, B did not.
    NowFails,
}

/// One verdict of A against the same verdict (same `check@step`) of B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictChange {
    /// `check@step`, as in JUnit.
    pub case: String,
    /// Status in A (`None`: A has no such verdict).
    pub a_status: Option<Status>,
    /// Status in B.
    pub b_status: Option<Status>,
    /// Measured ms in A.
    pub a_ms: Option<u64>,
    /// Measured ms in B.
    pub b_ms: Option<u64>,
    /// (B − A) / A in percent, when both measured and A > 0.
    pub change_percent: Option<f64>,
    /// Set when this verdict got worse.
    pub regression: Option<Regression>,
}

impl VerdictChange {
    /// Present in both with different statuses.
    pub fn status_changed(&self) -> bool {
        self.a_status.is_some() && self.b_status.is_some() && self.a_status != self.b_status
    }
}

/// One scenario's runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioComparison {
    /// Scenario name.
    pub scenario: String,
    /// Run id in A.
    pub a_run: String,
    /// Run id in B.
    pub b_run: String,
    /// Whether A's run passed.
    pub a_passed: bool,
    /// Whether B's run passed.
    pub b_passed: bool,
    /// What A ran (Patroni version, PostgreSQL major, tags): a pre-upgrade comparison is of two
    /// image sets, and the reader must see which.
    #[serde(default)]
    pub a_images: RunImages,
    /// What B ran.
    #[serde(default)]
    pub b_images: RunImages,
    /// Verdicts in B's order, then those only A has.
    pub verdicts: Vec<VerdictChange>,
    /// Patroni configuration keys that differ between A's and B's members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configuration: Vec<ConfigChange>,
}

/// One Patroni configuration key that differs between two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Which members it differs on: a member's name, or `every member` when all differ alike.
    pub members: String,
    /// The dotted key, e.g. `bootstrap.dcs.ttl`.
    pub key: String,
    /// A's value (JSON), `None` when A's members lack the key.
    pub a: Option<String>,
    /// B's value.
    pub b: Option<String>,
}

/// The "member" name of Patroni's dynamic configuration in configuration changes.
const DCS: &str = "the DCS (GET /config)";

/// Every leaf of a JSON value by dotted path (list items numbered).
fn leaves(value: &serde_json::Value, path: String, out: &mut BTreeMap<String, String>) {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, join(k), out)),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| leaves(v, join(&i.to_string()), out))
        }
        leaf => {
            out.insert(path, leaf.to_string());
        }
    }
}

/// The configuration keys that differ between A's and B's members (by member name).
fn config_changes(a: &RunReport, b: &RunReport) -> Vec<ConfigChange> {
    let flat = |report: &RunReport| -> BTreeMap<String, BTreeMap<String, String>> {
        let mut members = BTreeMap::new();
        for member in &report.configuration {
            let mut out = BTreeMap::new();
            leaves(&member.patroni, String::new(), &mut out);
            members.insert(member.member.clone(), out);
        }
        if let Some(dynamic) = &report.dynamic_configuration {
            let mut out = BTreeMap::new();
            leaves(dynamic, String::new(), &mut out);
            members.insert(DCS.to_string(), out);
        }
        members
    };
    let (a, b) = (flat(a), flat(b));
    let names: Vec<&String> = b.keys().filter(|name| a.contains_key(*name)).collect();
    let keys: std::collections::BTreeSet<&String> =
        names.iter().flat_map(|name| a[*name].keys().chain(b[*name].keys())).collect();
    let mut changes = Vec::new();
    for key in keys {
        let pairs: Vec<(&String, Option<&String>, Option<&String>)> = names
            .iter()
            .map(|name| (*name, a[*name].get(key), b[*name].get(key)))
            .filter(|(_, x, y)| x.is_some() || y.is_some())
            .collect();
        let differing: Vec<_> = pairs.iter().filter(|(_, x, y)| x != y).collect();
        if differing.is_empty() {
            continue;
        }
        let alike = differing.len() == pairs.len()
            && differing.iter().all(|(_, x, y)| (x, y) == (&differing[0].1, &differing[0].2));
        if alike && pairs.len() > 1 {
            let (_, x, y) = differing[0];
            changes.push(ConfigChange {
                members: "every member".into(),
                key: key.clone(),
                a: x.cloned(),
                b: y.cloned(),
            });
        } else {
            for (member, x, y) in differing {
                changes.push(ConfigChange {
                    members: (*member).clone(),
                    key: key.clone(),
                    a: x.cloned(),
                    b: y.cloned(),
                });
            }
        }
    }
    changes
}

/// Everything `compare` found; what it writes as `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What A was.
    pub a: String,
    /// What B was.
    pub b: String,
    /// The tolerance, in percent.
    pub tolerance_percent: f64,
    /// Scenarios in both, by name.
    pub scenarios: Vec<ScenarioComparison>,
    /// Scenarios only A has a run of.
    pub only_in_a: Vec<String>,
    /// Scenarios only B has a run of.
    pub only_in_b: Vec<String>,
    /// How many verdicts regressed.
    pub regressions: usize,
}

impl Comparison {
    /// Whether anything regressed (the command then exits 1).
    pub fn has_regression(&self) -> bool {
        self.regressions > 0
    }
}

/// Compares one run of a scenario (A) with another (B).
pub fn compare_reports(a: &RunReport, b: &RunReport, tolerance: Tolerance) -> ScenarioComparison {
    let a_cases: Vec<(String, &crate::check::Verdict)> = case_names(&a.verdicts).into_iter().zip(&a.verdicts).collect();
    let b_cases: Vec<(String, &crate::check::Verdict)> = case_names(&b.verdicts).into_iter().zip(&b.verdicts).collect();
    let mut verdicts = Vec::new();
    for (case, bv) in &b_cases {
        let av = a_cases.iter().find(|(c, _)| c == case).map(|(_, v)| *v);
        let (a_ms, b_ms) = (av.and_then(|v| v.observed_ms), bv.observed_ms);
        let change_percent = match (a_ms, b_ms) {
            (Some(a), Some(b)) if a > 0 => Some((b as f64 - a as f64) * 100.0 / a as f64),
            _ => None,
        };
        let now_fails = av.is_some_and(|v| v.status == Status::Pass) && bv.status != Status::Pass;
        let slower = match (a_ms, b_ms) {
            (Some(a), Some(b)) => b as f64 > a as f64 * (1.0 + tolerance.0),
            _ => false,
        };
        let regression = if now_fails {
            Some(Regression::NowFails)
        } else if slower {
            Some(Regression::Slower)
        } else {
            None
        };
        verdicts.push(VerdictChange {
            case: case.clone(),
            a_status: av.map(|v| v.status),
            b_status: Some(bv.status),
            a_ms,
            b_ms,
            change_percent,
            regression,
        });
    }
    for (case, av) in a_cases.iter().filter(|(c, _)| !b_cases.iter().any(|(bc, _)| bc == c)) {
        verdicts.push(VerdictChange {
            case: case.clone(),
            a_status: Some(av.status),
            b_status: None,
            a_ms: av.observed_ms,
            b_ms: None,
            change_percent: None,
            regression: None,
        });
    }
    ScenarioComparison {
        scenario: b.scenario.clone(),
        a_run: a.run_id.clone(),
        b_run: b.run_id.clone(),
        a_passed: a.passed,
        b_passed: b.passed,
        a_images: a.images.clone(),
        b_images: b.images.clone(),
        verdicts,
        configuration: config_changes(a, b),
    }
}

/// Compares every scenario that has a run on both sides.
pub fn compare_runs(
    a_label: &str,
    a: &BTreeMap<String, LoadedRun>,
    b_label: &str,
    b: &BTreeMap<String, LoadedRun>,
    tolerance: Tolerance,
) -> Comparison {
    let scenarios: Vec<ScenarioComparison> = b
        .iter()
        .filter_map(|(name, b_run)| a.get(name).map(|a_run| compare_reports(&a_run.report, &b_run.report, tolerance)))
        .collect();
    let regressions = scenarios.iter().flat_map(|s| &s.verdicts).filter(|v| v.regression.is_some()).count();
    Comparison {
        a: a_label.to_string(),
        b: b_label.to_string(),
        tolerance_percent: tolerance.0 * 100.0,
        only_in_a: a.keys().filter(|k| !b.contains_key(*k)).cloned().collect(),
        only_in_b: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
        scenarios,
        regressions,
    }
}

/// The comparison as text for the terminal: the image sets side by side, one table of verdicts,
/// then what changed status.
pub fn render_comparison(comparison: &Comparison) -> String {
    let mut out = format!("comparing A = {} with B = {}\n", comparison.a, comparison.b);
    out.push_str(&render_image_sets(&comparison.scenarios));
    let mut table = Table::new();
    table.load_style(STYLE).set_header(vec!["scenario", "check", "A", "B", "change", ""]);
    let mut status_lines = Vec::new();
    for scenario in &comparison.scenarios {
        for v in &scenario.verdicts {
            let flag = match v.regression {
                Some(Regression::Slower) => format!("REGRESSION (> {}% slower)", comparison.tolerance_percent),
                Some(Regression::NowFails) => "REGRESSION (now fails)".to_string(),
                None if v.a_status.is_none() => "only in B".to_string(),
                None if v.b_status.is_none() => "only in A".to_string(),
                None => String::new(),
            };
            if v.status_changed() {
                status_lines.push(format!(
                    "  {} {}: {} → {}",
                    scenario.scenario,
                    v.case,
                    status_text(v.a_status),
                    status_text(v.b_status)
                ));
            }
            table.add_row(vec![
                Cell::new(&scenario.scenario),
                Cell::new(&v.case),
                Cell::new(measure(v.a_status, v.a_ms)).set_alignment(CellAlignment::Right),
                Cell::new(measure(v.b_status, v.b_ms)).set_alignment(CellAlignment::Right),
                Cell::new(v.change_percent.map_or_else(String::new, |p| format!("{p:+.1}%")))
                    .set_alignment(CellAlignment::Right),
                Cell::new(flag),
            ]);
        }
    }
    if comparison.scenarios.is_empty() {
        out.push_str("no scenario has a run on both sides\n");
    } else {
        out.push_str(&table.to_string());
        out.push('\n');
    }
    if !status_lines.is_empty() {
        out.push_str("status changed:\n");
        for line in status_lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let changed: Vec<String> = comparison
        .scenarios
        .iter()
        .flat_map(|s| {
            s.configuration.iter().map(move |c| {
                let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "absent".into());
                format!("  {} {} ({}): {} → {}", s.scenario, c.key, c.members, side(&c.a), side(&c.b))
            })
        })
        .collect();
    if !changed.is_empty() {
        out.push_str("Patroni configuration changed:\n");
        for line in changed {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for (side, names) in [("A", &comparison.only_in_a), ("B", &comparison.only_in_b)] {
        if !names.is_empty() {
            out.push_str(&format!("only in {side}: {}\n", names.join(", ")));
        }
    }
    out.push_str(&match comparison.regressions {
        0 => format!("no regression (tolerance {}%)\n", comparison.tolerance_percent),
        n => format!("{n} regression{} (tolerance {}%)\n", if n == 1 { "" } else { "s" }, comparison.tolerance_percent),
    });
    out
}

/// `images:` with A's and B's set: once when every scenario ran the same pair, else per scenario.
fn render_image_sets(scenarios: &[ScenarioComparison]) -> String {
    let sets = |s: &ScenarioComparison| (s.a_images.describe_set(), s.b_images.describe_set());
    let Some(first) = scenarios.first().map(sets) else { return String::new() };
    let line = |(a, b): (String, String)| {
        let same = if a == b { "  (same image set)" } else { "" };
        format!("A: {a}  |  B: {b}{same}")
    };
    if scenarios.iter().all(|s| sets(s) == first) {
        return format!("images: {}\n", line(first));
    }
    let mut out = "images:\n".to_string();
    for s in scenarios {
        out.push_str(&format!("  {}: {}\n", s.scenario, line(sets(s))));
    }
    out
}

fn status_text(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "fail",
        Some(Status::Pending) => "pending",
        None => "absent",
    }
}

/// `20.1s`, or the status when nothing was measured.
fn measure(status: Option<Status>, ms: Option<u64>) -> String {
    match ms {
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
        None => status_text(status).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::terminal::tests::sample;

    fn passing() -> RunReport {
        let mut report = sample();
        for v in &mut report.verdicts {
            v.status = Status::Pass;
        }
        report.verdicts[0].observed_ms = Some(19_400);
        report.verdicts[1].observed_ms = Some(9_500);
        report.passed = true;
        report.error = None;
        report
    }

    fn runs(report: RunReport) -> BTreeMap<String, LoadedRun> {
        BTreeMap::from([(report.scenario.clone(), LoadedRun { dir: PathBuf::from("x"), report })])
    }

    #[test]
    fn configuration_differences_are_listed_next_to_timings() {
        use crate::report::MemberConfiguration;
        let member = |name: &str, ttl: u32, priority: u32| MemberConfiguration {
            member: name.into(),
            patroni: serde_json::json!({"bootstrap": {"dcs": {"ttl": ttl}}, "tags": {"failover_priority": priority}}),
        };
        let mut a = passing();
        a.configuration = vec![member("pg-1", 20, 1), member("pg-2", 20, 1)];
        let mut b = passing();
        b.configuration = vec![member("pg-1", 30, 1), member("pg-2", 30, 5)];
        a.dynamic_configuration = Some(serde_json::json!({"ttl": 20}));
        b.dynamic_configuration = Some(serde_json::json!({"ttl": 30}));
        let comparison = compare_runs("a", &runs(a), "b", &runs(b), Tolerance::default());
        let changes = &comparison.scenarios[0].configuration;
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert_eq!((changes[0].key.as_str(), changes[0].members.as_str()), ("bootstrap.dcs.ttl", "every member"));
        assert_eq!((changes[1].key.as_str(), changes[1].members.as_str()), ("tags.failover_priority", "pg-2"));
        assert_eq!((changes[2].key.as_str(), changes[2].members.as_str()), ("ttl", DCS));
        let text = render_comparison(&comparison);
        assert!(text.contains("Patroni configuration changed:\n"), "{text}");
        assert!(text.contains("bootstrap.dcs.ttl (every member): 20 → 30\n"), "{text}");
        assert!(text.contains("tags.failover_priority (pg-2): 1 → 5\n"), "{text}");
        assert_eq!(comparison.regressions, 0, "a configuration change is shown, not judged");
    }

    #[test]
    fn identical_reports_have_no_regression() {
        let report = passing();
        let comparison = compare_runs("a", &runs(report.clone()), "b", &runs(report), Tolerance::default());
        assert_eq!(comparison.regressions, 0);
        assert!(!comparison.has_regression());
        let scenario = &comparison.scenarios[0];
        assert_eq!(scenario.verdicts.len(), 3);
        assert_eq!(scenario.verdicts[0].case, "new_leader@3");
        assert_eq!(scenario.verdicts[0].change_percent, Some(0.0));
        assert!(scenario.verdicts.iter().all(|v| !v.status_changed()));
        let text = render_comparison(&comparison);
        assert!(text.ends_with("no regression (tolerance 20%)\n"), "{text}");
        assert!(text.contains("images: A: Patroni ?, PostgreSQL ?  |  B: Patroni ?, PostgreSQL ?  (same image set)\n"));
    }

    #[test]
    fn the_image_sets_are_shown_side_by_side() {
        let mut a = passing();
        a.images.patroni_version = "4.1.5".into();
        a.images.postgres_major = Some(15);
        let mut b = a.clone();
        b.images.postgres_major = Some(17);
        let comparison = compare_runs("pg15", &runs(a.clone()), "pg17", &runs(b), Tolerance::default());
        assert_eq!(comparison.scenarios[0].b_images.postgres_major, Some(17));
        let text = render_comparison(&comparison);
        assert!(
            text.starts_with(
                "comparing A = pg15 with B = pg17\nimages: A: Patroni 4.1.5, PostgreSQL 15  |  B: Patroni 4.1.5, PostgreSQL 17\n"
            ),
            "{text}"
        );
        // Scenarios that ran different sets are listed one by one.
        let mut other_a = a.clone();
        other_a.scenario = "other".into();
        let mut other_b = other_a.clone();
        other_b.images.patroni_version = "3.3.2".into();
        let mut a_runs = runs(a.clone());
        a_runs.extend(runs(other_a));
        let mut b_runs = runs(a);
        b_runs.extend(runs(other_b));
        let text = render_comparison(&compare_runs("a", &a_runs, "b", &b_runs, Tolerance::default()));
        assert!(
            text.contains(
                "images:\n  other: A: Patroni 4.1.5, PostgreSQL 15  |  B: Patroni 3.3.2, PostgreSQL 15\n  \
                 patroni-kill-primary: A: Patroni 4.1.5, PostgreSQL 15  |  B: Patroni 4.1.5, PostgreSQL 15  (same image set)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn twice_as_slow_is_a_regression() {
        let a = passing();
        let mut b = passing();
        b.run_id = "later".into();
        b.verdicts[0].observed_ms = Some(38_800);
        b.verdicts[1].observed_ms = Some(10_000); // +5%: within the tolerance
        let comparison = compare_runs("a", &runs(a), "b", &runs(b), Tolerance::default());
        assert_eq!(comparison.regressions, 1);
        let v = &comparison.scenarios[0].verdicts;
        assert_eq!(v[0].regression, Some(Regression::Slower));
        assert_eq!(v[0].change_percent, Some(100.0));
        assert_eq!(v[1].regression, None);
        let text = render_comparison(&comparison);
        assert!(text.contains("| +100.0% | REGRESSION (> 20% slower) |"), "{text}");
        assert!(text.ends_with("1 regression (tolerance 20%)\n"), "{text}");
        // A looser tolerance lets it through.
        let loose = compare_reports(&passing(), &comparison_b(38_800), "150%".parse().unwrap());
        assert!(loose.verdicts.iter().all(|v| v.regression.is_none()));
    }

    fn comparison_b(new_leader_ms: u64) -> RunReport {
        let mut b = passing();
        b.verdicts[0].observed_ms = Some(new_leader_ms);
        b
    }

    #[test]
    fn passing_then_failing_is_a_regression_and_a_status_change() {
        let a = passing();
        let mut b = passing();
        b.verdicts[2].status = Status::Fail;
        b.passed = false;
        let comparison = compare_runs("a", &runs(a), "b", &runs(b), Tolerance::default());
        assert_eq!(comparison.regressions, 1);
        let v = &comparison.scenarios[0].verdicts[2];
        assert_eq!(v.regression, Some(Regression::NowFails));
        assert!(v.status_changed());
        let text = render_comparison(&comparison);
        assert!(text.contains("status changed:\n  patroni-kill-primary single_primary@invariant: pass → fail\n"));
    }

    #[test]
    fn failing_then_passing_is_only_a_status_change() {
        let comparison = compare_runs("a", &runs(sample()), "b", &runs(passing()), Tolerance::default());
        assert_eq!(comparison.regressions, 0);
        assert!(comparison.scenarios[0].verdicts[1].status_changed());
    }

    #[test]
    fn unmatched_scenarios_are_listed() {
        let mut other = passing();
        other.scenario = "other".into();
        let comparison = compare_runs("a", &runs(passing()), "b", &runs(other), Tolerance::default());
        assert!(comparison.scenarios.is_empty());
        assert_eq!(comparison.only_in_a, ["patroni-kill-primary"]);
        assert_eq!(comparison.only_in_b, ["other"]);
    }

    #[test]
    fn tolerance_parses_percentages() {
        assert_eq!("20%".parse::<Tolerance>().unwrap(), Tolerance(0.2));
        assert_eq!("5".parse::<Tolerance>().unwrap(), Tolerance(0.05));
        assert!("-3%".parse::<Tolerance>().is_err());
        assert!("fast".parse::<Tolerance>().is_err());
        assert_eq!(Tolerance(0.25).to_string(), "25%");
    }

    #[test]
    fn finds_the_latest_run_of_each_scenario() {
        let dir = std::env::temp_dir().join(format!("pgdrill-compare-find-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut old = passing();
        old.run_id = "20261123-080000-aaaa".into();
        old.started_at = "2026-11-23T08:00:00Z".into();
        let mut new = passing();
        new.run_id = "20261123-090000-bbbb".into();
        new.started_at = "2026-11-23T09:00:00Z".into();
        crate::report::write_json(&new, &dir.join(&new.run_id)).unwrap();
        crate::report::write_json(&old, &dir.join(&old.run_id)).unwrap();
        fs::create_dir_all(dir.join("suite-x")).unwrap(); // not a run: ignored
        let found = find_runs(&dir).unwrap();
        assert_eq!(found.runs.len(), 1);
        assert_eq!(found.runs["patroni-kill-primary"].report.run_id, "20261123-090000-bbbb");
        let single = find_runs(&dir.join(&old.run_id)).unwrap();
        assert_eq!(single.runs["patroni-kill-primary"].report.run_id, "20261123-080000-aaaa");
        assert!(matches!(find_runs(&dir.join("suite-x")), Err(FindRunsError::Empty { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }
}
