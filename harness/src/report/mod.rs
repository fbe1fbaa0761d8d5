//! Reports: the run's result as data ([`RunReport`]) and the sinks that render it (terminal
//! summary, report.json, junit.xml, report.html), plus what reads reports back: run comparison,
//! the drill history, and setting a report's verdicts beside the checks' judgement of its
//! timeline (rejudge). Sinks only read the report and its timeline; they never judge a run
//! (that is the checks' job) and never talk to Docker.
mod case_names;
mod compare;
mod files;
mod history;
mod html;
mod json;
mod junit;
mod model;
mod rejudge;
mod run_dir;
mod terminal;

pub use case_names::{case_name, case_names};
pub use compare::{
    compare_reports, compare_runs, find_runs, render_comparison, Comparison, FindRunsError, FoundRuns, LoadedRun,
    Regression, ScenarioComparison, Tolerance, VerdictChange, COMPARE_FILE,
};
pub use history::{append_history, read_history, versus_previous, History, HistoryEntry, KeyTimings, HISTORY_FILE};
pub use html::{render_html, render_suite_index, write_html, SuiteRun, HTML_FILE};
pub use json::{read_json, write_json, ReadReportError, ReadReportErrorKind, REPORT_FILE};
pub use junit::{junit_report, junit_suite, render_junit, render_junit_runs, write_junit, JUNIT_FILE};
pub use model::{
    harness_usage, member_configurations, run_duration, AlertLatency, CoverageRow, HarnessUsage, MemberConfiguration,
    MonitoringSummary, PhaseTiming, RunImages, RunReport, Timings, SCHEMA_VERSION,
};
pub use rejudge::{rejudge, render_rejudgement, RejudgedVerdict, Rejudgement};
pub use run_dir::{write_all, WriteReportError};
pub use terminal::render_summary;
