//! The chaos report: every schedule tried, the failing one, the shrinking steps and the minimal
//! replay file, as `chaos.json` (plus `minimal.yaml`) in `reports/chaos-<id>/`, and a terminal
//! summary. Each case also has its own engine report (`reports/<run-id>/`) and replay file
//! (`cases/case-NNN.yaml`).
use std::path::{Path, PathBuf};

use comfy_table::{Cell, ContentArrangement, Table};
use serde::{Deserialize, Serialize};

use super::convert::{plan_case, Provenance};
use super::explore::{CaseOutcome, Exploration, Phase, SearchOutcome};
use crate::scenario::{LoadedScenario, ScenarioError};

/// Version of `chaos.json`.
pub const CHAOS_SCHEMA_VERSION: u32 = 1;
/// The report file in a chaos report directory.
pub const CHAOS_REPORT_FILE: &str = "chaos.json";
/// The minimal failing schedule as a plain scenario.
pub const MINIMAL_FILE: &str = "minimal.yaml";

/// One search, as written to `chaos.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChaosReport {
    /// Format version ([`CHAOS_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file searched.
    pub scenario_file: String,
    /// The generator's seed: the same seed, file and options draw the same schedules.
    pub seed: u64,
    /// Passing schedules asked for.
    pub cases_requested: u32,
    /// Shrink steps allowed (a step whose schedule already ran costs no run).
    pub max_shrink_steps: u32,
    /// Wall-clock start (RFC 3339).
    pub started_at: String,
    /// Wall time of the whole search.
    pub duration_ms: u64,
    /// What the search found, and every case it ran.
    pub exploration: Exploration,
    /// The minimal failing schedule's replay file (absolute), when there is one.
    #[serde(default)]
    pub minimal_file: Option<String>,
}

/// Writes the minimal failing schedule (if any) as a plain scenario and `chaos.json` into `dir`,
/// and records the minimal file's path in `report`.
pub fn write_chaos_report(
    report: &mut ChaosReport,
    base: &LoadedScenario,
    dir: &Path,
    command: &str,
) -> Result<(), WriteError> {
    std::fs::create_dir_all(dir).map_err(|e| WriteError::Io(dir.to_path_buf(), e))?;
    if let SearchOutcome::Failed { minimal, minimal_case, first_failing_case, .. } = &report.exploration.outcome {
        let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()).join(MINIMAL_FILE);
        let shrink_runs = report.exploration.cases.iter().filter(|c| c.phase == Phase::Shrink).count();
        let provenance = Provenance {
            lines: vec![
                format!("Minimal failing chaos schedule of {} (pgdrill chaos).", base.path.display()),
                format!(
                    "Found by `{command}`: seed {}, first failing case {first_failing_case}, shrunk in {shrink_runs} runs{}.",
                    report.seed,
                    minimal_case.map(|c| format!(" to case {c}")).unwrap_or_default()
                ),
                format!("Replay it (no randomness left): pgdrill run {}", path.display()),
            ],
        };
        let plan = plan_case(base, minimal, &path, &provenance).map_err(WriteError::Scenario)?;
        std::fs::write(&path, &plan.yaml).map_err(|e| WriteError::Io(path.clone(), e))?;
        report.minimal_file = Some(path.display().to_string());
    }
    let json_path = dir.join(CHAOS_REPORT_FILE);
    let json = serde_json::to_string_pretty(report).expect("the chaos report serialises");
    std::fs::write(&json_path, json).map_err(|e| WriteError::Io(json_path, e))
}

/// Why the chaos report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file could not be written.
    #[error("failed to write {0}")]
    Io(PathBuf, #[source] std::io::Error),
    /// The minimal schedule did not make a valid scenario (a pgdrill bug).
    #[error("failed to turn the minimal schedule into a scenario")]
    Scenario(#[source] ScenarioError),
}

/// The terminal summary: a table of every case, then the verdict, the shrinking path and how
/// to replay the minimal schedule.
pub fn render_chaos_summary(report: &ChaosReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "chaos {} ({}): seed {}, {} runs in {:.0}s\n",
        report.scenario,
        report.scenario_file,
        report.seed,
        report.exploration.cases.len(),
        report.duration_ms as f64 / 1000.0
    ));
    let mut table = Table::new();
    table
        .load_style(comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(120)
        .set_header(vec!["case", "phase", "schedule", "result", "time"]);
    for case in &report.exploration.cases {
        let phase = match case.phase {
            Phase::Explore => "explore",
            Phase::Shrink => "shrink",
        };
        table.add_row(vec![
            Cell::new(case.number),
            Cell::new(phase),
            Cell::new(&case.summary),
            Cell::new(outcome_text(&case.outcome)),
            Cell::new(format!("{:.0}s", case.duration_ms as f64 / 1000.0)),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');
    match &report.exploration.outcome {
        SearchOutcome::Passed => out.push_str(&format!(
            "PASSED: {} schedules kept every invariant\n",
            report.exploration.cases.iter().filter(|c| c.outcome == CaseOutcome::Passed).count()
        )),
        SearchOutcome::Failed { first_failing_case, minimal, minimal_case, violations } => {
            out.push_str(&format!("FAILED: case {first_failing_case} broke an invariant\n"));
            let first = &report.exploration.cases[first_failing_case - 1];
            out.push_str(&format!(
                "  first failing schedule ({} faults): {}\n",
                first.schedule.faults.len(),
                first.summary
            ));
            for (case, accepted) in report.exploration.shrink_steps() {
                let mark = if accepted { "smaller, still fails" } else { "does not fail, kept the larger" };
                out.push_str(&format!("  shrink case {}: {} → {mark}\n", case.number, case.summary));
            }
            let at = minimal_case.map(|c| format!(" (case {c})")).unwrap_or_default();
            out.push_str(&format!("  minimal schedule ({} faults){at}: {minimal}\n", minimal.faults.len()));
            for violation in violations {
                out.push_str(&format!("    violated: {violation}\n"));
            }
            if let Some(file) = &report.minimal_file {
                out.push_str(&format!("  replay: pgdrill run {file}\n"));
            }
        }
        SearchOutcome::GaveUp { reason } => {
            out.push_str(&format!("GAVE UP: too many schedules could not be carried out ({reason})\n"))
        }
        SearchOutcome::Aborted { reason } => out.push_str(&format!("ABORTED: {reason}\n")),
    }
    out
}

fn outcome_text(outcome: &CaseOutcome) -> String {
    match outcome {
        CaseOutcome::Passed => "pass".into(),
        CaseOutcome::Failed { .. } => format!("FAIL {}", outcome.failed_checks().join(", ")),
        CaseOutcome::Inconclusive { reason } => format!("inconclusive: {reason}"),
        CaseOutcome::Aborted { reason } => format!("aborted: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::explore::CaseRecord;
    use crate::chaos::schedule::{Schedule, ScheduledFault};
    use crate::scenario::{parse_scenario, FaultName, Target};

    const BASE: &str = "name: planted
topology: {kind: patroni, members: 2, etcd: 1}
workload: {writers: 2, rate: 50/s}
chaos:
  faults: [{fault: pause, targets: [replica]}, {fault: kill, targets: [primary]}]
  spacing: {min: 1s, max: 3s}
  duration: {min: 1s, max: 3s}
  invariants: [writable_again: {within: 1s}]
";

    fn schedule(faults: &[(FaultName, Target)]) -> Schedule {
        Schedule {
            faults: faults
                .iter()
                .enumerate()
                .map(|(i, (fault, target))| ScheduledFault {
                    fault: fault.clone(),
                    target: target.clone(),
                    at_s: i as u64 + 1,
                    duration_s: Some(1),
                    options: Default::default(),
                })
                .collect(),
        }
    }

    fn record(number: usize, phase: Phase, schedule: Schedule, failed: bool) -> CaseRecord {
        let outcome = if failed {
            CaseOutcome::Failed {
                violations: vec!["writable_again: no write acknowledged within 1s (budget ≤ 1s)".into()],
            }
        } else {
            CaseOutcome::Passed
        };
        CaseRecord {
            number,
            phase,
            summary: schedule.to_string(),
            schedule,
            outcome,
            scenario_file: format!("cases/case-{number:03}.yaml"),
            run_id: None,
            report_dir: None,
            duration_ms: 30_000,
        }
    }

    #[test]
    fn a_failed_search_writes_json_and_a_replayable_minimal_file() {
        let base = parse_scenario("planted.yaml", BASE).unwrap();
        let both = schedule(&[(FaultName::from("pause"), Target::Replica), (FaultName::from("kill"), Target::Primary)]);
        let kill = schedule(&[(FaultName::from("kill"), Target::Primary)]);
        let pause = schedule(&[(FaultName::from("pause"), Target::Replica)]);
        let exploration = Exploration {
            outcome: SearchOutcome::Failed {
                first_failing_case: 1,
                minimal: kill.clone(),
                minimal_case: Some(3),
                violations: vec!["writable_again: no write acknowledged within 1s (budget ≤ 1s)".into()],
            },
            cases: vec![
                record(1, Phase::Explore, both, true),
                record(2, Phase::Shrink, pause, false),
                record(3, Phase::Shrink, kill, true),
            ],
        };
        let mut report = ChaosReport {
            schema_version: CHAOS_SCHEMA_VERSION,
            scenario: "planted".into(),
            scenario_file: "planted.yaml".into(),
            seed: 7,
            cases_requested: 4,
            max_shrink_steps: 6,
            started_at: "2026-11-23T10:00:00Z".into(),
            duration_ms: 90_000,
            exploration,
            minimal_file: None,
        };
        let dir = std::env::temp_dir().join(format!("pgdrill-chaos-report-{}", std::process::id()));
        write_chaos_report(&mut report, &base, &dir, "pgdrill chaos planted.yaml --seed 7").unwrap();

        let minimal = crate::scenario::load_scenario(&dir.join(MINIMAL_FILE)).expect("the replay file loads");
        assert!(
            minimal.source.contains("seed 7, first failing case 1, shrunk in 2 runs to case 3"),
            "{}",
            minimal.source
        );
        assert_eq!(minimal.scenario.steps.iter().filter(|s| s.value.fault == Some(FaultName::from("kill"))).count(), 1);
        let json: ChaosReport =
            serde_json::from_str(&std::fs::read_to_string(dir.join(CHAOS_REPORT_FILE)).unwrap()).unwrap();
        assert_eq!(json, report);
        assert_eq!(json.exploration.cases.len(), 3);

        let summary = render_chaos_summary(&report);
        for phrase in [
            "FAILED: case 1 broke an invariant",
            "first failing schedule (2 faults): pause replica at +1s for 1s; kill primary at +2s for 1s",
            "shrink case 2: pause replica at +1s for 1s → does not fail, kept the larger",
            "shrink case 3: kill primary at +1s for 1s → smaller, still fails",
            "minimal schedule (1 faults) (case 3): kill primary at +1s for 1s",
            "replay: pgdrill run /",
            "FAIL writable_again",
        ] {
            assert!(summary.contains(phrase), "`{phrase}` not in:\n{summary}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
