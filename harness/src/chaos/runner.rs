//! The real [`CaseRunner`]: each case is a full engine run (a cluster, the plan's steps, audit,
//! judgement, teardown or parking), and its report is judged for the search. With
//! `RunOptions::reuse`, a case runs on the cluster the case before left clean, after the
//! baseline check (`engine/reuse.rs`); the caller releases the slot after the search.
use tokio::runtime::Handle;

use super::explore::{Case, CaseOutcome, CaseRun, CaseRunner};
use crate::check::{names, Status};
use crate::engine::{run_scenario, EngineError, RunOptions};
use crate::report::RunReport;
use crate::timeline::EventKind;

/// Runs cases with [`run_scenario`] on a tokio runtime, from a thread that is not one of the
/// runtime's workers (the search itself is synchronous: proptest calls back per case).
#[derive(Debug)]
pub struct EngineRunner {
    handle: Handle,
    options: RunOptions,
}

impl EngineRunner {
    /// A runner that runs cases on `handle` with `options` (reports dir, images, cancellation).
    pub fn new(handle: Handle, options: RunOptions) -> Self {
        Self { handle, options }
    }
}

impl CaseRunner for EngineRunner {
    fn run_case(&mut self, case: &Case<'_>) -> CaseRun {
        if self.options.cancel.is_cancelled() {
            return aborted("interrupted");
        }
        // The next case is not drawn yet, but it has this one's topology: a cluster this case
        // leaves clean is parked for it (when `options.reuse` is set).
        if let Some(slot) = &self.options.reuse {
            slot.next_drill_like(&case.plan.loaded, &self.options);
        }
        let result = self.handle.block_on(run_scenario(&case.plan.loaded, &self.options));
        if self.options.cancel.is_cancelled() {
            let mut run = aborted("interrupted");
            if let Ok(outcome) = &result {
                run.run_id = Some(outcome.report.run_id.clone());
                run.report_dir = Some(outcome.report_dir.display().to_string());
            }
            return run;
        }
        match result {
            // The reports dir is unusable: every other case would lose its report the same way.
            Ok(outcome) if outcome.write_error.is_some() => {
                let mut run = aborted(&outcome.write_error.as_ref().map(ToString::to_string).unwrap_or_default());
                run.run_id = Some(outcome.report.run_id.clone());
                run
            }
            Ok(outcome) => CaseRun {
                outcome: judge(&outcome.report, case.plan.first_schedule_step),
                run_id: Some(outcome.report.run_id.clone()),
                report_dir: Some(outcome.report_dir.display().to_string()),
            },
            // Nothing ran (images, Docker): every other case would end the same way.
            Err(e @ (EngineError::Runtime(_) | EngineError::Images(_))) => aborted(&e.to_string()),
            Err(EngineError::Interrupted(_)) => aborted("interrupted"),
            Err(e) => {
                CaseRun { outcome: CaseOutcome::Inconclusive { reason: e.to_string() }, run_id: None, report_dir: None }
            }
        }
    }
}

fn aborted(reason: &str) -> CaseRun {
    CaseRun { outcome: CaseOutcome::Aborted { reason: reason.to_owned() }, run_id: None, report_dir: None }
}

/// Checks whose verdict stands even when the run stopped at a step: what was observed up to the
/// error is enough to see two primaries.
const JUDGED_WHEN_A_STEP_FAILED: &[&str] = &[names::SINGLE_PRIMARY];
/// Checks that need the end-of-run audit, which a run error skips ("audit did not run").
const NEEDS_THE_AUDIT: &[&str] = &[names::NO_ACKED_WRITE_LOST];

/// The verdict on a schedule from its run's report.
///
/// - The set-up (steps before the schedule) failed: inconclusive, whatever the checks say.
/// - A step of the schedule failed (e.g. `primary` named nobody because an earlier kill was
///   still in effect): the later steps and the audit never ran, so only checks that stand on
///   what was seen so far (`JUDGED_WHEN_A_STEP_FAILED`) can fail the case; otherwise it is
///   inconclusive.
/// - Every step ran but the run ended with an error (the audit found no primary): every check
///   but the audit's can fail the case.
/// - Otherwise any failed check fails the case, and a run without failed checks passed.
pub fn judge(report: &RunReport, first_schedule_step: usize) -> CaseOutcome {
    let failed_step = report.timeline.events.iter().find_map(|e| match &e.kind {
        EventKind::StepFinished { index, ok: false, .. } => Some(*index),
        _ => None,
    });
    let started = report.timeline.events.iter().any(|e| matches!(e.kind, EventKind::StepStarted { .. }));
    let counts = |check: &str| match (&report.error, failed_step) {
        (None, _) => true,
        (Some(_), Some(_)) => JUDGED_WHEN_A_STEP_FAILED.contains(&check),
        (Some(_), None) => !NEEDS_THE_AUDIT.contains(&check),
    };
    let violations: Vec<String> = report
        .verdicts
        .iter()
        .filter(|v| v.status == Status::Fail && counts(&v.check))
        .map(|v| format!("{}: {} (budget {})", v.check, v.observed, v.budget))
        .collect();
    match (report.error.as_deref(), failed_step) {
        (Some(error), Some(step)) if step < first_schedule_step => {
            CaseOutcome::Inconclusive { reason: format!("the set-up (step {}) failed: {error}", step + 1) }
        }
        (Some(error), None) if !started => {
            CaseOutcome::Inconclusive { reason: format!("the cluster did not start: {error}") }
        }
        _ if !violations.is_empty() => CaseOutcome::Failed { violations },
        (Some(error), _) => CaseOutcome::Inconclusive { reason: error.to_owned() },
        (None, _) if report.verdicts.is_empty() => {
            CaseOutcome::Inconclusive { reason: "the run judged no checks".into() }
        }
        (None, _) => CaseOutcome::Passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;
    use crate::report::{HarnessUsage, Timings};
    use crate::timeline::{Event, Timeline};

    fn verdict(check: &str, status: Status) -> Verdict {
        Verdict {
            check: check.into(),
            step: None,
            status,
            observed: "seen".into(),
            budget: "≤ 1s".into(),
            observed_ms: None,
            budget_ms: None,
        }
    }

    fn report(verdicts: Vec<Verdict>, error: Option<&str>, failed_step: Option<usize>) -> RunReport {
        let mut events = vec![Event { at: 1, kind: EventKind::StepStarted { index: 0, description: "wait".into() } }];
        if let Some(index) = failed_step {
            events.push(Event { at: 2, kind: EventKind::StepFinished { index, ok: false, detail: "boom".into() } });
        }
        RunReport {
            schema_version: 1,
            run_id: "r".into(),
            scenario: "s".into(),
            scenario_file: "s.yaml".into(),
            started_at: "now".into(),
            passed: false,
            verdicts,
            phases: Vec::new(),
            timings: Timings::default(),
            harness: HarnessUsage::default(),
            error: error.map(Into::into),
            notes: Vec::new(),
            monitoring: None,
            images: Default::default(),
            configuration: Vec::new(),
            dynamic_configuration: None,
            cluster_from: None,
            timeline: Timeline::from_events(events),
        }
    }

    #[test]
    fn a_failed_check_is_a_failure() {
        let r =
            report(vec![verdict("single_primary", Status::Pass), verdict("writable_again", Status::Fail)], None, None);
        assert_eq!(judge(&r, 1).failed_checks(), ["writable_again"]);
    }

    #[test]
    fn after_a_failed_schedule_step_only_observed_safety_counts() {
        // The audit never ran: "no_acked_write_lost" fails with "audit did not run", which says
        // nothing about the schedule (seen with a second kill of `primary` while none ran).
        let unaudited = verdict("no_acked_write_lost", Status::Fail);
        let r = report(
            vec![verdict("single_primary", Status::Pass), unaudited.clone()],
            Some("step 4: cannot resolve"),
            Some(3),
        );
        assert!(matches!(judge(&r, 1), CaseOutcome::Inconclusive { reason } if reason.contains("cannot resolve")));
        let r =
            report(vec![verdict("single_primary", Status::Fail), unaudited], Some("step 4: cannot resolve"), Some(3));
        assert_eq!(judge(&r, 1).failed_checks(), ["single_primary"]);
    }

    #[test]
    fn after_an_audit_error_the_expectations_still_count() {
        let verdicts = vec![verdict("writable_again", Status::Fail), verdict("no_acked_write_lost", Status::Fail)];
        let r = report(verdicts, Some("workload: no primary within 60s"), None);
        assert_eq!(judge(&r, 1).failed_checks(), ["writable_again"]);
        let r =
            report(vec![verdict("no_acked_write_lost", Status::Fail)], Some("workload: no primary within 60s"), None);
        assert!(matches!(judge(&r, 1), CaseOutcome::Inconclusive { .. }));
    }

    #[test]
    fn errors_without_violations_are_inconclusive() {
        let r = report(
            vec![verdict("single_primary", Status::Pass)],
            Some("step 3: cannot resolve the fault's target"),
            Some(2),
        );
        assert!(matches!(judge(&r, 1), CaseOutcome::Inconclusive { reason } if reason.contains("cannot resolve")));
        let r = report(vec![verdict("single_primary", Status::Fail)], Some("timed out waiting for healthy"), Some(0));
        assert!(
            matches!(judge(&r, 1), CaseOutcome::Inconclusive { reason } if reason.starts_with("the set-up (step 1) failed")),
            "a cluster that never got healthy says nothing about the schedule"
        );
    }

    #[test]
    fn all_checks_passing_is_a_pass_and_no_checks_is_not() {
        let r = report(vec![verdict("single_primary", Status::Pass)], None, None);
        assert_eq!(judge(&r, 1), CaseOutcome::Passed);
        assert!(matches!(judge(&report(Vec::new(), None, None), 1), CaseOutcome::Inconclusive { .. }));
    }
}
