//! The JUnit sink: `junit.xml` for CI systems (GitHub and GitLab test reports, Jenkins). One
//! `<testsuite>` per scenario run, one `<testcase>` per verdict named `check@step`; a run that
//! stopped with an error (or judged nothing) adds an erroring `run` test case, so CI never shows
//! a broken run as green.
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::case_names::case_names;
use super::files::write_atomically;
use super::model::{run_duration, RunReport};
use super::terminal::render_summary;
use crate::check::{Status, Verdict};

/// The file's name inside a run's report directory.
pub const JUNIT_FILE: &str = "junit.xml";

/// The name of the test case standing for the run itself (errors, nothing judged).
const RUN_CASE: &str = "run";

/// Builds a JUnit report of runs: one test suite each (one run for `report.json`'s neighbour,
/// every run of a drill for the suite's file).
pub fn junit_report(reports: &[&RunReport]) -> Report {
    let mut suites = Report::new("pgdrill");
    suites.set_time(Duration::from_millis(reports.iter().map(|r| run_duration(r)).sum()));
    suites.add_test_suites(reports.iter().map(|r| junit_suite(r)));
    suites
}

/// Renders `junit.xml`'s text for one run.
pub fn render_junit(report: &RunReport) -> String {
    render_junit_runs(&[report])
}

/// Renders a JUnit file with one test suite per run.
pub fn render_junit_runs(reports: &[&RunReport]) -> String {
    schema_valid(junit_report(reports).to_string().expect("serialising JUnit into memory cannot fail"))
}

/// quick-junit always writes `skipped="…"` on `<testsuites>`, an attribute the common JUnit
/// schema (Jenkins' junit-10.xsd, which GitLab and GitHub reporters follow) allows only on
/// `<testsuite>`. pgdrill never skips a case, so the root's count is always 0: drop it there.
fn schema_valid(mut xml: String) -> String {
    if let Some(start) = xml.find("<testsuites ") {
        let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
        if let Some(at) = xml[start..end].find(" skipped=\"0\"") {
            xml.replace_range(start + at..start + at + " skipped=\"0\"".len(), "");
        }
    }
    xml
}

/// Writes `dir/junit.xml`, creating `dir` if needed, and returns its path.
pub fn write_junit(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    write_atomically(dir, JUNIT_FILE, render_junit(report).as_bytes())
}

/// The run as one test suite named after the scenario.
pub fn junit_suite(report: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new(report.scenario.as_str());
    suite.set_time(Duration::from_millis(run_duration(report)));
    suite.add_properties([
        Property::new("run_id", report.run_id.as_str()),
        Property::new("scenario_file", report.scenario_file.as_str()),
        Property::new("started_at", report.started_at.as_str()),
    ]);
    for (verdict, name) in report.verdicts.iter().zip(case_names(&report.verdicts)) {
        suite.add_test_case(verdict_case(report, verdict, name));
    }
    let run_problem = match (&report.error, report.verdicts.is_empty()) {
        (Some(error), _) => Some(("run error", error.clone())),
        (None, true) => Some(("nothing judged", "no checks were evaluated".to_string())),
        (None, false) => None,
    };
    if let Some((ty, message)) = run_problem {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type(ty).set_message(message.as_str()).set_description(message.as_str());
        let mut case = TestCase::new(RUN_CASE, status);
        case.set_classname(report.scenario.as_str());
        suite.add_test_case(case);
    }
    suite.set_system_out(render_summary(report));
    suite
}

fn verdict_case(report: &RunReport, verdict: &Verdict, name: String) -> TestCase {
    let status = match verdict.status {
        Status::Pass => TestCaseStatus::success(),
        Status::Fail | Status::Pending => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let ty = if verdict.status == Status::Pending { "pending" } else { "budget" };
            status.set_type(ty).set_message(failure_message(verdict)).set_description(failure_text(verdict));
            status
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(report.scenario.as_str());
    // An expectation's observed time is how long the cluster took to satisfy it; an invariant's
    // measurement (e.g. the longest write gap) is not a duration of the case.
    if let (Some(_), Some(ms)) = (verdict.step, verdict.observed_ms) {
        case.set_time(Duration::from_millis(ms));
    }
    case
}

/// `observed 49.7s vs budget ≤ 45s`, or the observation's text when it has no duration.
fn failure_message(verdict: &Verdict) -> String {
    let observed = match verdict.observed_ms {
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
        None => verdict.observed.clone(),
    };
    format!("observed {observed} vs budget {}", verdict.budget)
}

fn failure_text(verdict: &Verdict) -> String {
    let step = verdict.step.map_or_else(|| "invariant".to_string(), |s| format!("step {}", s + 1));
    format!("{} ({step}) failed\nobserved: {}\nbudget: {}\n", verdict.check, verdict.observed, verdict.budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::terminal::tests::sample;

    #[test]
    fn one_case_per_verdict_and_the_run_error() {
        let xml = render_junit(&sample());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{xml}");
        assert!(
            xml.contains("<testsuites name=\"pgdrill\" tests=\"4\" failures=\"1\" errors=\"1\" time=\"60.000\">"),
            "{xml}"
        );
        assert!(xml.contains("<testsuite name=\"patroni-kill-primary\" tests=\"4\""), "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("errors=\"1\""), "{xml}");
        assert!(xml.contains("<testcase name=\"new_leader@3\" classname=\"patroni-kill-primary\""), "{xml}");
        assert!(xml.contains("<testcase name=\"single_primary@invariant\""), "{xml}");
        assert!(xml.contains("<failure message=\"observed pg-1 not a running or streaming replica"), "{xml}");
        assert!(xml.contains("vs budget ≤ 1m 30s\" type=\"budget\">rejoins (step 5) failed"), "{xml}");
        assert!(xml.contains("<testcase name=\"run\" classname=\"patroni-kill-primary\">"), "{xml}");
        assert!(xml.contains("<error message=\"step 5 (wait healthy) timed out"), "{xml}");
        assert!(xml.contains("<property name=\"run_id\" value=\"20261123-101500-ab12\"/>"), "{xml}");
        assert!(xml.contains("<system-out>scenario patroni-kill-primary"), "{xml}");
    }

    #[test]
    fn a_duration_is_the_message_and_repeated_checks_stay_apart() {
        let mut report = sample();
        report.error = None;
        let mut late = report.verdicts[0].clone();
        late.status = Status::Fail;
        late.observed = "pg-2 running primary on tl 2 after 49.7s, over the 45s budget".into();
        late.observed_ms = Some(49_715);
        report.verdicts = vec![late.clone(), late];
        let xml = render_junit(&report);
        assert!(xml.contains("<failure message=\"observed 49.7s vs budget ≤ 45s\" type=\"budget\">"), "{xml}");
        assert!(xml.contains("<testcase name=\"new_leader@3\" classname=\"patroni-kill-primary\" time=\"49.715\">"));
        assert!(xml.contains("<testcase name=\"new_leader@3#2\""), "{xml}");
        assert!(!xml.contains("<error"), "{xml}");
    }

    #[test]
    fn nothing_judged_is_an_error() {
        let mut report = sample();
        report.error = None;
        report.verdicts.clear();
        let xml = render_junit(&report);
        assert!(xml.contains("tests=\"1\""), "{xml}");
        assert!(xml.contains("<error message=\"no checks were evaluated\" type=\"nothing judged\">"), "{xml}");
    }

    #[test]
    fn markup_in_texts_is_escaped() {
        let mut report = sample();
        report.verdicts[1].observed = "<script>alert(1)</script> & \"quotes\"".into();
        let xml = render_junit(&report);
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(xml.contains("&lt;script&gt;"), "{xml}");
    }
}
