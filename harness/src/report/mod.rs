//! Reports: the run's result as data ([`RunReport`]) and the sinks that render it (terminal
//! summary, JSON file). Sinks only read the report and its timeline; they never judge a run
//! (that is the checks' job) and never talk to Docker.
mod html;
mod json;
mod junit;
mod model;
mod terminal;

pub use html::{render_html, write_all, write_html, HTML_FILE};
pub use json::{read_json, write_json, ReadReportError, ReadReportErrorKind, REPORT_FILE};
pub use junit::{junit_report, junit_suite, render_junit, write_junit, JUNIT_FILE};
pub use model::{harness_usage, HarnessUsage, PhaseTiming, RunReport, Timings, SCHEMA_VERSION};
pub use terminal::render_summary;
