//! The drill history: `reports/history.jsonl`, one JSON line per run that `pgdrill drill` made
//! (date, scenario, run id, passed, key timings), so each drill can say how it compares with the
//! previous one of the same scenario. Append-only; lines this build cannot read are skipped, not
//! fatal, so an old or hand-edited line never blocks a drill.
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::case_names::case_names;
use super::model::{run_duration, RunReport};
use crate::check::longest_write_gap;

/// The history's file name inside the reports directory.
pub const HISTORY_FILE: &str = "history.jsonl";

/// One run, as remembered by the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the run started (RFC 3339, UTC).
    pub date: String,
    /// Scenario name.
    pub scenario: String,
    /// Run id (the report is `reports/<run_id>/`).
    pub run_id: String,
    /// Whether the run passed.
    pub passed: bool,
    /// The drill (suite directory name) the run was part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// Key timings, in ms.
    pub timings: KeyTimings,
}

/// The durations worth following from drill to drill, in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyTimings {
    /// The whole run, start to end of teardown.
    pub duration_ms: u64,
    /// Containers started to first healthy.
    #[serde(default)]
    pub time_to_healthy_ms: Option<u64>,
    /// Fault to new leader.
    #[serde(default)]
    pub detection_latency_ms: Option<u64>,
    /// Longest time between two acknowledged writes.
    #[serde(default)]
    pub longest_write_gap_ms: Option<u64>,
    /// Harness CPU, user + system.
    #[serde(default)]
    pub harness_cpu_ms: u64,
    /// Every verdict's measurement, by `check@step`.
    #[serde(default)]
    pub checks: BTreeMap<String, u64>,
}

impl HistoryEntry {
    /// The entry for a finished run.
    pub fn from_report(report: &RunReport, suite: Option<&str>) -> Self {
        let timeline = &report.timeline;
        let checks = case_names(&report.verdicts)
            .into_iter()
            .zip(&report.verdicts)
            .filter_map(|(name, v)| v.observed_ms.map(|ms| (name, ms)))
            .collect();
        Self {
            date: report.started_at.clone(),
            scenario: report.scenario.clone(),
            run_id: report.run_id.clone(),
            passed: report.passed,
            suite: suite.map(str::to_string),
            timings: KeyTimings {
                duration_ms: run_duration(report),
                time_to_healthy_ms: report.timings.time_to_healthy_ms,
                detection_latency_ms: report.timings.detection_latency_ms,
                longest_write_gap_ms: longest_write_gap(timeline, timeline.end()).map(|g| g.len()),
                harness_cpu_ms: report.harness.cpu_user_ms + report.harness.cpu_system_ms,
                checks,
            },
        }
    }
}

/// What [`read_history`] found.
#[derive(Debug, Default)]
pub struct History {
    /// Entries in file order (oldest first).
    pub entries: Vec<HistoryEntry>,
    /// Lines that were not entries this build can read (skipped).
    pub unreadable_lines: usize,
}

impl History {
    /// The most recent entry of `scenario`.
    pub fn previous(&self, scenario: &str) -> Option<&HistoryEntry> {
        self.entries.iter().rev().find(|e| e.scenario == scenario)
    }
}

/// Reads the history; a missing file is an empty history.
pub fn read_history(path: &Path) -> io::Result<History> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(History::default()),
        Err(e) => return Err(e),
    };
    let mut history = History::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(entry) => history.entries.push(entry),
            Err(_) => history.unreadable_lines += 1,
        }
    }
    Ok(history)
}

/// Appends entries, one JSON line each, creating the file (and its directory) if needed. Each
/// line is written with one `write` call on an append-mode file, so concurrent drills interleave
/// whole lines.
pub fn append_history(path: &Path, entries: &[HistoryEntry]) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut file = fs::OpenOptions::new().create(true).append(true).open(path)?;
    for entry in entries {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        file.write_all(line.as_bytes())?;
    }
    file.sync_all()
}

/// How a run compares with the previous run of its scenario: `"first drill of …"`, or the result
/// and each measurement with its change, e.g.
/// `PASSED (was failed in run … on …); new_leader@4 20.1s (was 19.4s, +4%); …; run 49.5s (was …)`.
pub fn versus_previous(current: &HistoryEntry, previous: Option<&HistoryEntry>) -> String {
    let Some(previous) = previous else {
        return "first drill of this scenario in the history".to_string();
    };
    let result = |passed: bool| if passed { "passed" } else { "failed" };
    let mut parts = vec![if current.passed == previous.passed {
        format!("{} again (previous run {} on {})", result(current.passed), previous.run_id, previous.date)
    } else {
        format!(
            "{} (was {} in run {} on {})",
            result(current.passed).to_uppercase(),
            result(previous.passed),
            previous.run_id,
            previous.date
        )
    }];
    let (c, p) = (&current.timings, &previous.timings);
    // The checks' measurements carry detection and the longest write gap when the scenario
    // checks them; listing those too would say the same number twice.
    let mut timings: Vec<(String, Option<u64>, Option<u64>)> =
        c.checks.iter().map(|(name, ms)| (name.clone(), Some(*ms), p.checks.get(name).copied())).collect();
    timings.extend(
        p.checks.iter().filter(|(name, _)| !c.checks.contains_key(*name)).map(|(n, ms)| (n.clone(), None, Some(*ms))),
    );
    timings.push(("healthy after".into(), c.time_to_healthy_ms, p.time_to_healthy_ms));
    timings.push(("run".into(), Some(c.duration_ms), Some(p.duration_ms)));
    for (name, now, before) in timings {
        match (now, before) {
            (Some(now), Some(before)) => {
                parts.push(format!("{name} {} (was {}{})", secs(now), secs(before), change(now, before)))
            }
            (Some(now), None) => parts.push(format!("{name} {} (not measured before)", secs(now))),
            (None, Some(before)) => parts.push(format!("{name} not measured (was {})", secs(before))),
            (None, None) => {}
        }
    }
    parts.join("; ")
}

fn change(now: u64, before: u64) -> String {
    if before == 0 {
        return String::new();
    }
    format!(", {:+.0}%", (now as f64 - before as f64) * 100.0 / before as f64)
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::terminal::tests::sample;

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pgdrill-history-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir.join("reports").join(HISTORY_FILE)
    }

    fn entry(run_id: &str, scenario: &str, passed: bool, detection: Option<u64>) -> HistoryEntry {
        HistoryEntry {
            date: format!("2026-11-23T{}:00:00Z", &run_id[9..11]),
            scenario: scenario.into(),
            run_id: run_id.into(),
            passed,
            suite: Some("suite-x".into()),
            timings: KeyTimings {
                duration_ms: 50_000,
                detection_latency_ms: detection,
                checks: detection.map(|ms| ("new_leader@4".to_string(), ms)).into_iter().collect(),
                ..KeyTimings::default()
            },
        }
    }

    #[test]
    fn an_entry_takes_the_key_timings_of_a_report() {
        let mut report = sample();
        report.verdicts[0].observed_ms = Some(19_400);
        let e = HistoryEntry::from_report(&report, Some("suite-20261123-101500"));
        assert_eq!(e.date, "2026-11-23T10:15:00Z");
        assert_eq!(
            (e.scenario.as_str(), e.run_id.as_str(), e.passed),
            ("patroni-kill-primary", "20261123-101500-ab12", false)
        );
        assert_eq!(e.timings.detection_latency_ms, Some(19_400));
        assert_eq!(e.timings.harness_cpu_ms, 1_040);
        assert_eq!(e.timings.duration_ms, 60_000);
        assert_eq!(e.timings.checks, BTreeMap::from([("new_leader@3".to_string(), 19_400)]));
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.starts_with(r#"{"date":"2026-11-23T10:15:00Z","scenario":"patroni-kill-primary","#), "{line}");
    }

    #[test]
    fn appends_lines_and_reads_them_back() {
        let path = temp_file("append");
        assert!(read_history(&path).unwrap().entries.is_empty(), "a missing file is an empty history");
        let first = entry("20261123-080000-aaaa", "kill", true, Some(20_000));
        let second = entry("20261123-090000-bbbb", "kill", false, None);
        append_history(&path, std::slice::from_ref(&first)).unwrap();
        append_history(&path, std::slice::from_ref(&second)).unwrap();
        // A damaged line (an interrupted write, a hand edit) is skipped, not fatal.
        fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{not json\n").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        let history = read_history(&path).unwrap();
        assert_eq!(history.entries, vec![first, second]);
        assert_eq!(history.unreadable_lines, 1);
        fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn previous_is_the_latest_of_the_same_scenario() {
        let history = History {
            entries: vec![
                entry("20261123-080000-aaaa", "kill", true, Some(20_000)),
                entry("20261123-090000-bbbb", "partition", true, None),
                entry("20261123-100000-cccc", "kill", false, None),
            ],
            unreadable_lines: 0,
        };
        assert_eq!(history.previous("kill").unwrap().run_id, "20261123-100000-cccc");
        assert_eq!(history.previous("partition").unwrap().run_id, "20261123-090000-bbbb");
        assert!(history.previous("switchover").is_none());
    }

    #[test]
    fn compares_with_the_previous_entry() {
        let before = entry("20261123-080000-aaaa", "kill", true, Some(20_000));
        let mut now = entry("20261123-090000-bbbb", "kill", true, Some(25_000));
        now.timings.duration_ms = 50_000;
        assert_eq!(
            versus_previous(&now, Some(&before)),
            "passed again (previous run 20261123-080000-aaaa on 2026-11-23T08:00:00Z); \
             new_leader@4 25.0s (was 20.0s, +25%); run 50.0s (was 50.0s, +0%)"
        );
        now.passed = false;
        now.timings.detection_latency_ms = None;
        now.timings.checks.clear();
        let text = versus_previous(&now, Some(&before));
        assert!(text.starts_with("FAILED (was passed in run 20261123-080000-aaaa"), "{text}");
        assert!(text.contains("; new_leader@4 not measured (was 20.0s); "), "{text}");
        assert_eq!(versus_previous(&now, None), "first drill of this scenario in the history");
    }
}
