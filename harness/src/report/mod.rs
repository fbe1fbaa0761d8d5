//! Reports: the run's result as data ([`RunReport`]) and the sinks that render it (terminal
//! summary, JSON file). Sinks only read the report and its timeline; they never judge a run
//! (that is the checks' job) and never talk to Docker.
mod json;
mod model;
mod terminal;

pub use json::{read_json, write_json, ReadReportError, ReadReportErrorKind, REPORT_FILE};
pub use model::{harness_usage, HarnessUsage, PhaseTiming, RunReport, Timings, SCHEMA_VERSION};
pub use terminal::render_summary;
